"""The learner id: validated, stored once, mapped to a stable account of its own."""

from __future__ import annotations

import pytest

from tutor.cloud import endpoint as ep
from tutor.cloud.lambda_executor import environ
from tutor.engine import learner
from tutor.errors import TutorError


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUTOR_ACCOUNT", raising=False)
    monkeypatch.delenv("TUTOR_LEARNER", raising=False)
    learner.forget()


def test_ids_are_validated_and_lowercased() -> None:
    assert learner.validate("Ada-L_2") == "ada-l_2"
    assert learner.validate("x" * 32) == "x" * 32
    for bad in ("", " ", "x" * 33, "ada l", "ada.l", "é", "../etc"):
        with pytest.raises(TutorError, match="not a valid learner id"):
            learner.validate(bad)


def test_accounts_are_stable_12_digits_never_the_default() -> None:
    ids = [f"learner-{i}" for i in range(2000)]
    accounts = [learner.account_for(i) for i in ids]
    assert all(len(a) == 12 and a.isdigit() and a[0] != "0" for a in accounts)
    assert learner.DEFAULT_ACCOUNT not in accounts
    assert len(set(accounts)) == len(ids)  # no collision in a large class
    assert learner.account_for("Ada") == learner.account_for("ada")  # case does not matter
    # pinned: a learner moving to another machine or tutor version finds their account
    assert learner.account_for("ada") == "937850142570"


def test_no_id_means_the_default_account_and_no_store_is_created(tutor_home) -> None:
    who = learner.current()
    assert (who.id, who.account, who.source) == (None, "000000000000", "default")
    assert not (tutor_home / "progress.db").exists()
    found = ep.resolve("http://127.0.0.1:9")
    assert found is not None and learner.bind(found).account == "000000000000"


def test_set_once_then_change_only_with_force() -> None:
    first = learner.set_id("Ada")
    assert (first.id, first.account) == ("ada", learner.account_for("ada"))
    assert learner.current() == first
    assert learner.set_id("ada").id == "ada"  # the same id again is fine
    with pytest.raises(TutorError, match="already belongs to learner 'ada'") as raised:
        learner.set_id("bob")
    assert "--force" in raised.value.fix and "stay" in raised.value.fix
    assert learner.current().id == "ada"
    second = learner.set_id("bob", force=True)
    assert learner.current() == second and second.account != first.account


def test_resolution_fills_the_account_and_env_exports_it() -> None:
    who = learner.set_id("ada")
    resolved = ep.resolve("http://127.0.0.1:9")
    # the cloud layer does not read the progress store; the edge binds the learner
    assert resolved is not None and resolved.account == learner.DEFAULT_ACCOUNT
    found = learner.bind(resolved)
    assert found.account == who.account
    env = found.env()
    assert env["AWS_ACCESS_KEY_ID"] == who.account == env["TUTOR_ACCOUNT"]
    # the default account keeps the classic dummy key
    assert ep.Endpoint("http://127.0.0.1:9", "t").env()["AWS_ACCESS_KEY_ID"] == "test"


def test_environment_overrides_for_subprocesses(monkeypatch: pytest.MonkeyPatch) -> None:
    learner.set_id("ada")
    monkeypatch.setenv("TUTOR_LEARNER", "Bob")
    assert learner.current() == learner.Learner("bob", learner.account_for("bob"),
                                                "TUTOR_LEARNER")
    monkeypatch.setenv("TUTOR_ACCOUNT", "123456789012")
    assert learner.current().account == "123456789012"
    monkeypatch.setenv("TUTOR_ACCOUNT", "12345")
    with pytest.raises(TutorError, match="12-digit"):
        learner.current()


def test_lambda_handlers_get_their_functions_account_as_key() -> None:
    assert environ.credentials({"LOCALSTACK_FUNCTION_ACCOUNT_ID": "123456789012"}) == {
        "AWS_ACCESS_KEY_ID": "123456789012", "AWS_SECRET_ACCESS_KEY": "test"}
    for default in ({}, {"LOCALSTACK_FUNCTION_ACCOUNT_ID": "000000000000"},
                    {"LOCALSTACK_FUNCTION_ACCOUNT_ID": "not-digits!!"}):
        assert environ.credentials(default)["AWS_ACCESS_KEY_ID"] == "test"
