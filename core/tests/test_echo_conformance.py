"""The LLM conformance suite on the embedded echo provider, both ways round.

``TestEcho`` runs it on echo as shipped (every optional capability declared);
``TestChatOnlyEcho`` on an echo that declares none, so every "not declared → Unsupported"
check runs too. The last tests check that the suite itself catches a faulty provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

from tenantkit.errors import AuthenticationError, ProviderError
from tenantkit.llm import LLMCapability
from tenantkit.providers.echo import EchoFailure, EchoLLM, EchoReply, EchoSettings
from tenantkit.registry import ProviderContext
from tenantkit.scoped import TenantLLM
from tenantkit.testing.llm import EchoScript, LLMConformance


def _context() -> ProviderContext:
    return ProviderContext(tenant_id="conformance", provider="echo")


class TestEcho(LLMConformance):
    @pytest.fixture
    def llm(self) -> Iterator[EchoLLM]:
        llm = EchoLLM(EchoSettings(), _context())
        yield llm
        llm.close()

    @pytest.fixture
    def llm_script(self, llm: EchoLLM) -> EchoScript:
        return EchoScript(llm)


class ChatOnlyEcho(EchoLLM):
    """Echo declaring no optional capability: it must refuse every optional feature."""

    capabilities: ClassVar[frozenset[LLMCapability]] = frozenset()


class TestChatOnlyEcho(LLMConformance):
    @pytest.fixture
    def llm(self) -> ChatOnlyEcho:
        return ChatOnlyEcho(EchoSettings(), _context())

    @pytest.fixture
    def llm_script(self, llm: EchoLLM) -> EchoScript:
        return EchoScript(llm)


# --- the suite catches faulty providers -----------------------------------------------------

SECRET = "sk-planted-7f3a9c21"


class _LeakyScript(EchoScript):
    """Errors quote the credential, as a careless provider copying a server body would."""

    def fail(self, error_kind: type[ProviderError], *, retry_after: float | None = None) -> bool:
        failure = EchoFailure(error=error_kind.kind, message=f"invalid api key {SECRET}")
        self.llm.enqueue(EchoReply(error=failure))
        return True


class _AcceptsEverything(ChatOnlyEcho):
    """Declares nothing optional but silently accepts tools."""

    def _need(self, capability: LLMCapability, what: str) -> None:
        return None


def _tenant(llm: EchoLLM) -> TenantLLM:
    return TenantLLM(
        llm,
        tenant_id="kit-self-test",
        provider="echo",
        capabilities=frozenset(str(c) for c in llm.capabilities),
    )


def test_suite_detects_a_leaked_credential() -> None:
    llm = EchoLLM(EchoSettings(), _context())
    suite = TestEcho()
    with pytest.raises(AssertionError, match="credential appears"):
        suite.test_error_is_mapped(
            llm, _tenant(llm), _LeakyScript(llm), SECRET, AuthenticationError
        )
    # The same case passes when the planted value is not in the errors.
    suite.test_error_is_mapped(llm, _tenant(llm), EchoScript(llm), SECRET, AuthenticationError)


def test_suite_detects_an_undeclared_capability_that_is_accepted() -> None:
    llm = _AcceptsEverything(EchoSettings(), _context())
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        TestChatOnlyEcho().test_tools_unsupported(llm, _tenant(llm))
