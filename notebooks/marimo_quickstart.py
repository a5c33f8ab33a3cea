import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    # HappyHorse in marimo

    The same widgets as in JupyterLab, driven by the Python API (marimo has no magics):
    one clip with its live job widget, a small sweep filling in its comparison grid, and a
    form that renders a clip when you press **Render**.

    Keys come from the environment (`SEGMIND_API_KEY`, `APIFRAME_API_KEY`, `HIAPI_API_KEY`,
    `HH_OPENAI_API_KEY`), never from the notebook. **Without a key** a local sandbox starts
    on 127.0.0.1 and makes synthetic clips: the app runs the same, offline and free.

    Run it as an app with `marimo run notebooks/marimo_quickstart.py`, or edit it with
    `marimo edit`.
    """)
    return


@app.cell
def _():
    import marimo as mo

    import hh_notebook as hh

    client = hh.default_client()
    return client, hh, mo


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## One clip

    `await client.submit(...)` returns as soon as the provider has accepted the job; the job
    goes on in the background of marimo's event loop and its widget follows it: progress,
    then the clip with its sound.
    """)
    return


@app.cell
async def _(client, hh):
    job = await client.submit(
        "A white horse gallops along a misty beach at dawn, waves crashing, hooves thundering",
        duration=5,
        seed=7,
    )
    hh.show(job, client=client)
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## A small sweep

    Two seeds × two aspect ratios. `sweep.show()` puts the live grid in the cell's output and
    `sweep.start()` runs the sweep in the background: cells fill in as clips arrive, and one
    transport bar plays them together.
    """)
    return


@app.cell
def _(hh):
    sweep = hh.sweep(
        "A red fox trots through fresh snow at dusk, paws crunching, wind in the pines",
        seed="1-2",
        aspect_ratio="16:9,9:16",
        duration=3,
    )
    grid = sweep.show()
    running = sweep.start()
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## A form

    marimo's own inputs build the same `GenerationRequest` a Python user would; it is
    checked and priced as you type, and **Render** submits it.
    """)
    return


@app.cell
def _(client, mo):
    from hh_notebook import catalog

    low, high = catalog.duration_range(client.provider)
    form = mo.ui.dictionary(
        {
            "prompt": mo.ui.text_area(
                value="A dapple-grey horse canters across a meadow, birds singing",
                label="Prompt",
                full_width=True,
            ),
            "duration": mo.ui.slider(low, high, value=5, label="Duration (s)"),
            "aspect_ratio": mo.ui.dropdown(
                list(catalog.aspect_ratios(client.provider)), value="16:9", label="Aspect"
            ),
            "resolution": mo.ui.dropdown(
                list(catalog.RESOLUTIONS), value="720P", label="Resolution"
            ),
            "seed": mo.ui.number(start=0, stop=catalog.MAX_SEED, value=3, label="Seed"),
        }
    )
    render = mo.ui.run_button(label="Render")
    return form, render


@app.cell
def _(client, form, hh, mo, render):
    fields = form.value
    request = hh.GenerationRequest(**{**fields, "seed": int(fields["seed"])})
    problems = [str(p) for p in request.problems(client.provider)]
    price = "–" if problems else str(client.estimate(request))
    checks = "\n".join(f"- {p}" for p in problems + request.warnings(client.provider))
    mo.vstack([
        form.vstack(),
        mo.md(f"{request.mode.label} · estimated **{price}**\n\n{checks}"),
        render,
    ])
    return problems, request


@app.cell
async def _(client, hh, mo, problems, render, request):
    mo.stop(not render.value or bool(problems))
    rendered = await client.submit(request)
    hh.show(rendered, client=client)
    return


if __name__ == "__main__":
    app.run()
