"""``%%happyhorse`` and ``%happyhorse``: HappyHorse from a notebook cell.

Load with ``%load_ext hh_notebook``. The cell magic turns its body into a prompt, builds a
:class:`~hh_notebook.request.GenerationRequest` from the options, and hands it to the same
public :class:`~hh_notebook.client.Client` API a Python user calls; the job is shown by a live
:class:`~hh_notebook.widgets.job.JobWidget`. No protocol or retry logic lives here.

Blocking or not
    By default the cell returns as soon as the provider has accepted the job; the lifecycle
    runs as a task on the kernel's event loop and the widget keeps updating while you work on.
    The cell blocks until the clip is on disk with ``--wait``, with ``HH_WAIT=1`` in the
    kernel's environment (``HH_WAIT=0`` never blocks), or when the notebook runs headless.
    *Headless* means the execute request came with ``allow_stdin=False``, which is what
    nbclient (and so ``jupyter nbconvert --execute`` and papermill) sends, while JupyterLab,
    Notebook 7, VS Code and Colab allow stdin. Voilà executes with nbclient too but shows the
    page live: its kernels are recognised (:func:`~hh_notebook.runtime.in_voila`) and are not
    headless. Headless runs also show a static HTML view
    instead of a widget (nobody is watching it live, and a widget's state would be stored in
    the file): the poster frame and a ``<video>`` pointing at the clip, so exported HTML plays.
    ``HH_DISPLAY=widget|static`` overrides that choice. Outside a kernel (terminal IPython)
    the magic blocks and prints a text progress line.
"""

from __future__ import annotations

import os
import re
import shlex
import time
from collections.abc import Callable, Mapping
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from . import catalog
from .client import Client, Prepared, client_for
from .errors import BudgetExceeded, HHError, MissingDependency, SubmitUncertain, ValidationError
from .metrics import measure
from .options import (
    budget_refusal,
    magic_options,
    parse_magic_line,
    request_fields,
    sweep_settings,
    wants_help,
)
from .present import TextProgress, is_sandbox_work, job_cost_text, one_line
from .pricing import spent
from .request import GenerationRequest
from .runtime import blocking_wanted, run_blocking, view_kind
from .storyboard import storyboard_from_text
from .sweep import sweep_from_magic_args
from .views import ConfigView, CostView, JobTable, MetricsTable, StaticJobView
from .widgets.job import JobWidget

__all__ = ["HappyHorseMagics", "interpolate", "load_ipython_extension"]

SUBCOMMANDS = ("jobs", "resume", "show", "config", "cost", "help")

# ``{{ name }}`` or ``{{ name.attr.attr }}``, optionally escaped as ``\\{{ ... }}``. Anything
# else between double braces (``{{ x + 1 }}``) and every single brace stay as typed.
_PLACEHOLDER = re.compile(
    r"(\\?)\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}"
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def interpolate(text: str, namespace: Mapping[str, Any]) -> str:
    """Replace ``{{ name }}`` (or ``{{ name.attr }}``) with ``str()`` of that notebook variable.

    Single braces, ``$`` and double braces around anything that is not a (dotted) name are
    left alone, so prompts can contain them freely; ``\\{{ name }}`` keeps the braces literally.

    >>> interpolate("a {{ animal }} in {fog}, {{ n.real }} times", {"animal": "horse", "n": 3})
    'a horse in {fog}, 3 times'
    >>> interpolate(r"literal \\{{ animal }}", {"animal": "horse"})
    'literal {{ animal }}'
    """

    def substitute(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(0)[1:]
        dotted = match.group(2)
        name, *attrs = dotted.split(".")
        if name not in namespace:
            raise UsageError(f"prompt: {{{{ {dotted} }}}} — no variable {name!r} in the notebook")
        value = namespace[name]
        for attr in attrs:
            try:
                value = getattr(value, attr)
            except AttributeError:
                raise UsageError(
                    f"prompt: {{{{ {dotted} }}}} — {type(value).__name__} has no attribute {attr!r}"
                ) from None
        return str(value)

    return _PLACEHOLDER.sub(substitute, text)


def _one_line(exc: BaseException) -> str:
    return one_line(exc)


@magics_class
class HappyHorseMagics(Magics):
    """The ``%%happyhorse`` cell magic and the ``%happyhorse`` line magic."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self._clients: dict[str | None, Client] = {}
        self.session_started = time.time()
        self.session_job_ids: list[str] = []

    # ------------------------------------------------------------------ plumbing

    @property
    def user_ns(self) -> dict[str, Any]:
        """The notebook's namespace (variables for ``{{ name }}``, ``--image VAR``, ``-o``)."""
        if self.shell is None:  # pragma: no cover - magics always live in a shell
            raise UsageError("happyhorse: no IPython shell")
        return self.shell.user_ns

    def client(self, provider: str | None = None, sandbox: bool = False) -> Client:
        """The client for ``provider`` (None: the default choice; ``"sandbox"``: the local
        sandbox), created once per session; ``sandbox``: that provider's protocol on the local
        sandbox. A provider named without its key is an error naming the key's variable."""
        try:
            if sandbox:
                key = f"{provider or catalog.SANDBOX_PROTOCOL}+{catalog.SANDBOX}"
                if key not in self._clients:
                    self._clients[key] = Client(provider=provider, sandbox=True)
                return self._clients[key]
            return client_for(provider, self._clients)
        except HHError as exc:
            raise UsageError(f"provider: {_one_line(exc)}") from None

    def _image_arg(self, value: str | None, field: str) -> Any:
        """``--image``/``--ref``: a notebook variable's value if ``value`` names one, else the
        path or URL as given (checked by the request's validation)."""
        if value is None:
            return None
        if _IDENTIFIER.match(value) and value in self.user_ns:
            return self.user_ns[value]
        if _IDENTIFIER.match(value) and not os.path.exists(value):
            raise UsageError(f"{field}: {value!r} is neither a notebook variable nor a file or URL")
        return value

    def build_request(self, args: Any, prompt: str) -> GenerationRequest:
        """The request for parsed options ``args`` and the cell's ``prompt``."""
        fields = request_fields(args)
        fields.pop("provider", None)
        for name in ("image", "last_frame"):
            if name in fields:
                fields[name] = self._image_arg(fields[name], name)
        refs = fields.pop("reference_images", None) or []
        if len(refs) > catalog.MAX_REFERENCES:
            raise UsageError(f"reference_images: at most {catalog.MAX_REFERENCES} reference "
                             f"images (--ref given {len(refs)} times)")
        fields["reference_images"] = [self._image_arg(r, f"ref[{i}]")
                                      for i, r in enumerate(refs, 1)]
        return GenerationRequest(prompt=prompt, **fields)

    # ------------------------------------------------------------------ the magic

    @magic_options
    @line_cell_magic
    def happyhorse(self, line: str, cell: str | None = None) -> Any:
        """Generate a HappyHorse video clip (with audio) from the cell's text.

        Cell magic: the body is the prompt::

            %%happyhorse -d 8 -r 1080P -a 9:16 -s 42 -o clip
            A white horse gallops along a beach at dawn, waves crashing, gulls calling.

        Prompt variables: ``{{ name }}`` (or ``{{ name.attr }}``) is replaced with the value of
        that notebook variable; single braces, ``$`` and ``{{`` around anything that is not a
        name stay as typed; write ``\\{{ name }}`` for literal double braces. The option line
        is expanded by IPython as usual (``-s $seed``, ``-s {seed}``).

        ``--image``/``--ref`` take a path, an http(s) URL, or the name of a notebook variable
        holding a path, bytes, a PIL image or a numpy array.

        By default the cell returns once the job is submitted and the widget keeps updating;
        ``--wait``, ``HH_WAIT=1`` or a headless run (nbconvert --execute, papermill) block
        until the clip is ready.

        Line magic::

            %happyhorse jobs        table of the journal: status, cost, time, prompt
            %happyhorse resume      re-attach widgets to unfinished jobs (after a restart)
            %happyhorse show ID     the widget of one job (id or a unique prefix), its clip metrics
            %happyhorse config      provider, which keys are set (never shown), base URLs, data dir
            %happyhorse cost        spent this session and in total

        Sweeps: ``--sweep NAME=VALUES`` (repeatable) runs the cell over a grid of parameters
        and shows a comparison grid; ``--budget`` refuses to start above a cost unless
        ``--confirm``; ``-o`` binds the sweep (its result with ``--wait``).

        Storyboards: ``--storyboard`` reads the body as shots separated by lines such as
        ``--- 5s seed=3`` (see :mod:`hh_notebook.storyboard_text`); each shot starts from the
        previous one's last frame and the shots are stitched into one scene. ``-o`` binds
        the board.
        """
        if cell is None:
            return self._line(line)
        if wants_help(line):
            print(self.happyhorse.parser.format_help())
            return None
        args = parse_magic_line(self.happyhorse.parser, line)
        prompt = interpolate(cell.strip(), self.user_ns)
        client = self.client(args.provider, args.sandbox)
        if args.storyboard:
            return self._storyboard(args, client, prompt)
        request = self.build_request(args, prompt)
        if args.sweep:
            return self._sweep(args, client, request)
        try:
            prepared = client.prepare(request)  # checked and priced once, here
        except ValidationError as exc:
            raise UsageError(_one_line(exc)) from None
        if args.dry_run:
            return self._dry_run(args, client, prepared)
        return self._run(args, client, prepared)

    def _sweep(self, args: Any, client: Client, request: GenerationRequest) -> Any:
        """``--sweep``: hand the request and the axes to :mod:`hh_notebook.sweep`."""
        try:
            sweep = sweep_from_magic_args(request, args.sweep, client=client,
                                          **sweep_settings(args))
        except (HHError, TypeError, ValueError) as exc:
            raise UsageError(f"sweep: {_one_line(exc)}") from None
        if args.output:
            self.user_ns[args.output] = sweep
        if args.dry_run:
            print(f"happyhorse: sweep of {sweep.shape}; nothing was submitted.")
            return sweep
        if view_kind() != "text":
            sweep.show()
        try:
            if blocking_wanted(args.wait):
                result = sweep.run(confirm=args.confirm, force=args.force)
                if args.output:
                    self.user_ns[args.output] = result
            else:
                sweep.start(confirm=args.confirm)
        except BudgetExceeded as exc:
            raise UsageError(f"budget: {budget_refusal(exc)}") from None
        return None

    def _storyboard(self, args: Any, client: Client, body: str) -> Any:
        """``--storyboard``: the body's shots, handed to :func:`hh_notebook.storyboard`."""
        if args.sweep or args.force:
            raise UsageError("storyboard: --sweep and --force do not apply to a storyboard "
                             "(regenerate a shot with board.regenerate(index))")
        try:
            board = storyboard_from_text(
                body, client=client, options=request_fields(args), resolve_image=self._image_arg,
                **sweep_settings(args))
        except (HHError, TypeError, ValueError) as exc:
            raise UsageError(f"storyboard: {_one_line(exc)}") from None
        if args.output:
            self.user_ns[args.output] = board
        if args.dry_run:
            print(board.preview_text() + "\nNothing was submitted.")
            return None
        if view_kind() != "text":
            board.show()
        try:
            if blocking_wanted(args.wait):
                result = board.run(confirm=args.confirm)
                if view_kind() == "text":
                    print(result)
            else:
                board.start(confirm=args.confirm)
        except BudgetExceeded as exc:
            raise UsageError(f"budget: {budget_refusal(exc)}") from None
        return None

    def _dry_run(self, args: Any, client: Client, prepared: Prepared) -> None:
        request, estimate = prepared.request, prepared.estimate
        model = prepared.checked.version
        notes = "; ".join(request.warnings(client.provider))
        message = f"{request.mode.label}, estimated {estimate}."
        if notes:
            message += f" Note: {notes}"
        if args.output:
            self.user_ns[args.output] = request
        StaticJobView(
            request=request, provider=client.provider, model=model, estimate=estimate,
            status="dry_run", message=message,
        ).show()  # fmt: skip

    def _run(self, args: Any, client: Client, prepared: Prepared) -> Any:
        blocking = blocking_wanted(args.wait)
        view = self._make_view(client, prepared)
        job: Any
        try:
            job = run_blocking(client.submit(prepared, force=args.force))
        except SubmitUncertain as exc:
            job = exc.job
            if job is None:
                view.set_status("unknown", _one_line(exc))
                return None
        except HHError as exc:
            view.set_status("failed", _one_line(exc))
            raise UsageError(_one_line(exc)) from None
        self.session_job_ids.append(job.id)
        view.bind(job)
        if args.output:
            self.user_ns[args.output] = job
        if blocking and not job.done:
            run_blocking(job.wait())
        if isinstance(view, StaticJobView):
            view.refresh()
        return None

    def _make_view(self, client: Client, prepared: Prepared) -> Any:
        """A live widget, a static HTML view or a text line: see
        :func:`~hh_notebook.runtime.view_kind`."""
        request, estimate, model = prepared.request, prepared.estimate, prepared.checked.version
        kind = view_kind()
        if kind == "widget":
            widget = JobWidget(
                request=request, provider=client.provider, model=model,
                estimate=estimate, client=client,
            )  # fmt: skip
            widget.set_status("submitting")
            return widget.show()
        if kind == "static":
            view = StaticJobView(
                request=request,
                provider=client.provider,
                model=model,
                estimate=estimate,
                status="submitting",
            )
            return view.show()
        return _TextView(request, client.provider, model, estimate)

    # ------------------------------------------------------------------ line magic

    def _line(self, line: str) -> Any:
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"happyhorse: {exc}") from None
        if not words or words[0] in ("help", "-h", "--help"):
            print(self.happyhorse.parser.format_help())
            return None
        command, rest = words[0], words[1:]
        handlers: dict[str, Callable[[list[str]], Any]] = {
            "jobs": self._jobs,
            "resume": self._resume,
            "show": self._show,
            "config": self._config,
            "cost": self._cost,
        }
        if command not in handlers:
            raise UsageError(
                f"happyhorse: unknown command {command!r}; use one of {', '.join(SUBCOMMANDS)} "
                "(the cell magic %%happyhorse takes the prompt)"
            )
        return handlers[command](rest)

    def _records(self) -> list[Any]:
        return list(self.client().journal.jobs())

    def _jobs(self, rest: list[str]) -> Any:
        limit = 50
        if rest:
            if len(rest) > 1 or not rest[0].isdigit() or int(rest[0]) < 1:
                raise UsageError("jobs: the only argument is how many rows to show (at least "
                                 f"1), e.g. 20; got {' '.join(rest)!r}")
            limit = int(rest[0])
        return JobTable(self._records()[:limit])

    def _resume(self, rest: list[str]) -> None:
        records = self.client().journal.jobs(unfinished=True)
        if not records:
            print("happyhorse: no unfinished jobs in the journal.")
            return
        blocking = blocking_wanted(False)
        for record in records:
            try:
                client = self._client_of(record)
                job = run_blocking(client.resume(record.id))
            except (HHError, UsageError) as exc:
                print(f"happyhorse: job {record.id[:8]} not resumed: {_one_line(exc)}")
                continue
            self._show_job(client, job, blocking=blocking)

    def _client_of(self, record: Any) -> Client:
        """The client that follows a journal job where it was sent: the default one, the
        provider's, or for work on a sandbox that provider's protocol on that sandbox."""
        default = self.client()
        if record.provider == default.provider and record.base_url == default.base_url:
            return default
        if not is_sandbox_work(record):
            return self.client(record.provider)
        key = f"{record.provider}@{record.base_url}"
        if key not in self._clients:
            self._clients[key] = Client(provider=record.provider, base_url=record.base_url,
                                        sandbox=True)
        return self._clients[key]

    def _find(self, client: Client, prefix: str) -> str:
        ids = client.journal.find_prefix(prefix)
        if not ids:
            raise UsageError(f"show: no job with id {prefix!r} in the journal")
        if len(ids) > 1:
            raise UsageError(f"show: {prefix!r} matches {len(ids)} jobs; give more of the id")
        return ids[0]

    def _show(self, rest: list[str]) -> None:
        if len(rest) != 1:
            raise UsageError("show: give one job id, e.g. %happyhorse show 3f2a")
        client = self.client()
        job = client.job(self._find(client, rest[0]))
        self._show_job(client, job)
        self._show_metrics(client, job)

    def _show_metrics(self, client: Client, job: Any) -> None:
        """The clip's metrics under it: from the journal, else measured (and stored)."""
        if job.video_path is None:
            return
        try:
            figures = measure(job, journal=client.journal)
        except MissingDependency:
            print("happyhorse: no clip metrics without the metrics extra: "
                  "pip install 'hh_notebook[metrics]'")
            return
        except HHError as exc:
            print(f"happyhorse: no clip metrics: {one_line(exc)}")
            return
        display(MetricsTable(figures, f"clip metrics of job {job.id[:8]}"))

    def _show_job(self, client: Any, job: Any, *, blocking: bool = False) -> None:
        kind = view_kind()
        if kind == "widget":
            view: Any = JobWidget(job, client=client).show()
        elif kind == "text" and blocking and not job.done:
            view = _TextView(job.request, job.provider, job.model, None)
            view.bind(job)
        else:
            view = StaticJobView(job).show()
        if blocking and not job.done:
            run_blocking(job.wait())
            if isinstance(view, StaticJobView):
                view.refresh()

    def _config(self, rest: list[str]) -> ConfigView:
        return ConfigView.of(self.client())

    def _cost(self, rest: list[str]) -> CostView:
        records = self._records()
        session = [r for r in records if r.created_at >= self.session_started]
        return CostView(session=spent(session), total=spent(records),
                        session_jobs=len(session), total_jobs=len(records))


class _TextView:
    """Terminal IPython: a progress line instead of a widget."""

    def __init__(self, request: Any, provider: str, model: str, estimate: Any) -> None:
        self.progress = TextProgress()
        what = f"{request.mode.label} on {provider} (HappyHorse {model})"
        if estimate is not None:
            what += f", estimated {estimate}"
        self.progress.update("submitting", message=what)
        self._unsubscribe: Callable[[], None] | None = None

    def set_status(self, status: str, message: str = "") -> None:
        self.progress.update(status, message=message, final=True)

    def bind(self, job: Any) -> None:
        self._unsubscribe = job.subscribe(self.progress)
        if job.done:
            self.progress.update(
                job.status.value,
                None,
                job.elapsed,
                None,
                f"{job.video_path or job.error or ''} {job_cost_text(job)}",
                final=True,
            )


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext hh_notebook``: register ``%%happyhorse`` / ``%happyhorse``."""
    ipython.register_magics(HappyHorseMagics)
