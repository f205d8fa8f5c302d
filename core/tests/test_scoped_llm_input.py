"""Bad chat input reaching TenantLLM becomes a typed error naming the field."""

from __future__ import annotations

import pytest

from tenantkit import errors
from tenantkit.providers.echo import EchoLLM, EchoSettings
from tenantkit.registry import ProviderContext
from tenantkit.retry import NO_RETRY
from tenantkit.scoped import TenantLLM

PLANTED = "sk-planted-llm-input-31337"


@pytest.fixture
def llm() -> TenantLLM:
    provider = EchoLLM(EchoSettings(), ProviderContext(tenant_id="acme", provider="echo"))
    return TenantLLM(
        provider,
        tenant_id="acme",
        provider="echo",
        capabilities=frozenset(EchoLLM.capabilities),
        retry=NO_RETRY,
        secrets=[PLANTED],
    )


def test_invalid_fields_name_their_path_without_quoting_input(llm: TenantLLM) -> None:
    with pytest.raises(errors.InvalidRequest) as info:
        llm.chat(messages=[{"role": PLANTED, "content": "x"}], temprature=1)
    message = str(info.value)
    assert "messages[0].role" in message
    assert "temprature: unknown field" in message
    assert PLANTED not in message


def test_images_requests_are_validated_too(llm: TenantLLM) -> None:
    with pytest.raises(errors.InvalidRequest, match=r"n: Input should be less than or equal to 10"):
        llm.generate_image(prompt="a cat", n=11)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"tool_choice": "required"}, "tool_choice: needs tools"),
        (
            {"tools": [{"name": "lookup"}], "tool_choice": {"name": "other"}},
            "tool_choice.name: 'other' is not one of the tools",
        ),
    ],
)
def test_tool_choice_must_fit_the_tools(
    llm: TenantLLM, fields: dict[str, object], expected: str
) -> None:
    with pytest.raises(errors.InvalidRequest, match=expected):
        llm.chat(messages=[{"role": "user", "content": "hi"}], **fields)
