"""The contract table (``catalog.CONTRACTS``) is the referee between the client and the
sandbox, which keep separate code: the client's request bodies must match it field by field,
and the sandbox — written from the providers' pages on its own — must accept exactly what it
lists and refuse the rest (and every earlier misreading) in each provider's own error shape.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sandbox_fixtures import AUTH

from hh_notebook import catalog
from hh_notebook.errors import ValidationError
from hh_notebook.providers import get_provider
from hh_notebook.request import GenerationRequest
from hh_notebook.sandbox import Sandbox

IMAGE = "https://example.com/first.png"
END = "https://example.com/last.png"
REFS = ["https://example.com/a.png", "https://example.com/b.png"]
SPEECH = "https://example.com/speech.wav"

#: A value for every request parameter, distinct from its default so it is really sent.
VALUES: dict[str, Any] = {
    "negative_prompt": "blurry", "resolution": "1080P", "duration": 4, "aspect_ratio": "9:16",
    "seed": 42, "prompt_extend": False, "watermark": True, "reference_type": "subject",
    "audio": SPEECH, "last_frame": END,
}
#: JSON types of the contract's ``kind`` names.
KINDS = {"string": str, "integer": int, "boolean": bool}
CONTRACTS = sorted(catalog.CONTRACTS.values(), key=lambda c: (c.provider, c.version, c.mode))
IDS = [f"{c.provider}-{c.version}-{c.mode}" for c in CONTRACTS]


def full_request(contract: catalog.Contract) -> GenerationRequest:
    """A request setting every parameter the contract takes."""
    fields: dict[str, Any] = {name: VALUES[name] for name in contract.params if name in VALUES}
    fields["prompt"] = "[Image 1] a fox at dawn" if contract.mode == "r2v" else "a fox at dawn"
    if contract.mode == "i2v":
        fields["image"] = IMAGE
    if contract.mode == "r2v":
        low = contract.references[0] if contract.references else 1
        fields["reference_images"] = REFS[: max(low, 1)]
    if fields.get("aspect_ratio") not in contract.aspect_ratios:
        fields.pop("aspect_ratio", None)
    fields["duration"] = max(contract.durations[0], 3)
    return GenerationRequest(model=contract.version, **fields)


def leaves(body: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted path -> value for every leaf of a JSON body (lists are leaves)."""
    if isinstance(body, dict):
        out: dict[str, Any] = {}
        for key, value in body.items():
            out.update(leaves(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): body}


# ------------------------------------------------------------------------------ the client


@pytest.mark.parametrize("contract", CONTRACTS, ids=IDS)
def test_every_contract_names_its_source_pages(contract: catalog.Contract) -> None:
    assert contract.source in catalog.PAGES
    assert all(f.source in catalog.PAGES for f in contract.fields)


@pytest.mark.parametrize("contract", CONTRACTS, ids=IDS)
def test_the_client_sends_exactly_the_contract(contract: catalog.Contract) -> None:
    call = get_provider(contract.provider).build_submit(full_request(contract), "key",
                                                        "https://provider.example")
    assert call.method == contract.method
    assert call.url == "https://provider.example" + contract.path
    sent = leaves(call.json)
    expected = {f.wire for f in contract.fields} | set(contract.constants)
    assert set(sent) == expected
    for name, value in contract.constants.items():
        assert sent[name] == value
    for wire in contract.fields:
        value = sent[wire.wire]
        if wire.kind in KINDS:
            assert type(value) is KINDS[wire.kind], (wire.wire, value)
        elif wire.kind == "string[]":
            assert isinstance(value, list) and all(isinstance(v, str) for v in value)
        else:  # object[]: media items
            kind = wire.encode.split(":", 1)[1]
            assert value and all(item == {"type": kind, "url": item["url"]} for item in value)
    resolution = next(f for f in contract.fields if f.param == "resolution")
    assert sent[resolution.wire] == ("1080p" if resolution.encode == "lower" else "1080P")


@pytest.mark.parametrize("contract", CONTRACTS, ids=IDS)
def test_parameters_outside_the_contract_are_refused_before_sending(
    contract: catalog.Contract,
) -> None:
    base = full_request(contract)
    for name, value in VALUES.items():
        if name in contract.params or name in ("resolution", "duration", "aspect_ratio"):
            continue  # (an aspect ratio in image-to-video is a warning: the image decides)
        if name == "last_frame" and contract.mode != "i2v":
            continue  # refused as needing a first frame, tested in test_request
        changes = {name: value}
        with pytest.raises(ValidationError) as info:
            base.replace(**changes).validate(contract.provider)
        assert name in info.value.fields, (name, info.value.fields)


def test_paths_without_a_contract_are_refused() -> None:
    with pytest.raises(ValidationError, match="has no reference-to-video"):
        GenerationRequest(prompt="[Image 1]", reference_images=REFS[:1],
                          model="1.0").validate("segmind")


# ------------------------------------------------------------------------------ the sandbox


def _post(sandbox: Sandbox, contract: catalog.Contract, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(sandbox.base_url + contract.path, json=body,
                      headers=AUTH[contract.provider], timeout=30)


def refused_in_provider_shape(provider: str, answer: httpx.Response) -> bool:
    """Whether ``answer`` is a refusal in ``provider``'s own documented (or chosen) shape."""
    data = answer.json()
    if provider == "segmind":
        return answer.status_code in (400, 404) and isinstance(data.get("error"), str)
    if provider == "hiapi":
        return (answer.status_code == 400 and data.get("error_code") == "INVALID_REQUEST"
                and data.get("data") is None)
    if provider == "openai":
        return answer.status_code == 200 and isinstance(data.get("error"), dict)
    return answer.status_code == 400 and isinstance(data.get("error"), str)


def accepted(provider: str, answer: httpx.Response) -> bool:
    data = answer.json()
    ids = {"segmind": "request_id", "apiframe": "jobId", "openai": "task_id"}
    if provider == "hiapi":
        return answer.status_code == 200 and bool((data.get("data") or {}).get("taskId"))
    return 200 <= answer.status_code < 300 and bool(data.get(ids[provider]))


@pytest.mark.parametrize("contract", CONTRACTS, ids=IDS)
def test_the_sandbox_accepts_the_contract(sandbox: Sandbox, contract: catalog.Contract) -> None:
    body = get_provider(contract.provider).submit_body(full_request(contract))
    answer = _post(sandbox, contract, body)
    assert accepted(contract.provider, answer), answer.text


#: Fields other contracts of a provider send, and the readings earlier versions got wrong.
MISREADINGS: dict[str, list[tuple[str, Any]]] = {
    "hiapi": [("input.image_url", IMAGE), ("input.image", IMAGE),
              ("input.reference_images", REFS), ("input.seed", 7),
              ("input.negative_prompt", "blurry"), ("input.prompt_extend", False),
              ("input.watermark", False)],
    # Segmind picks the mode from the payload: fields of the other version only.
    "segmind-1.1": [("last_frame", END), ("audio_url", SPEECH)],
    "segmind-1.0": [("seed", 7), ("reference_images", REFS)],
    "apiframe": [("happyhorse11Params.negative_prompt", "x"), ("negative_prompt", "x")],
    "openai": [("metadata.negative_prompt", "x"), ("negative_prompt", "x")],
}


def _with(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in body.items()}
    *parents, leaf = path.split(".")
    node = out
    for name in parents:
        node = node.setdefault(name, {})
    node[leaf] = value
    return out


@pytest.mark.parametrize("contract", CONTRACTS, ids=IDS)
def test_the_sandbox_refuses_what_the_contract_does_not_list(
    sandbox: Sandbox, contract: catalog.Contract
) -> None:
    body = get_provider(contract.provider).submit_body(full_request(contract))
    wires = {f.wire for f in contract.fields}
    tried = 0
    key = f"segmind-{contract.version}" if contract.provider == "segmind" else contract.provider
    for path, value in MISREADINGS[key]:
        if path in wires:
            continue
        answer = _post(sandbox, contract, _with(body, path, value))
        assert refused_in_provider_shape(contract.provider, answer), (path, answer.text)
        tried += 1
    assert tried > 0


def test_the_sandbox_refuses_segmind_1_0_on_its_old_slug(sandbox: Sandbox) -> None:
    answer = httpx.post(sandbox.base_url + "/v2/happyhorse-1.0", json={"prompt": "a fox"},
                        headers=AUTH["segmind"], timeout=30)
    assert answer.status_code == 404 and "error" in answer.json()


def test_the_sandbox_refuses_a_hiapi_first_frame_given_as_a_string(sandbox: Sandbox) -> None:
    contract = catalog.contract("hiapi", "1.1", "i2v")
    body = get_provider("hiapi").submit_body(full_request(contract))
    body["input"]["image_urls"] = IMAGE
    assert refused_in_provider_shape("hiapi", _post(sandbox, contract, body))
