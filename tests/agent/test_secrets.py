"""Secrets: parsing, expansion towards the env, redaction of everything written."""

from __future__ import annotations

import pytest

from qwen_gui_agent.actions.models import Click, Navigate, TypeText
from qwen_gui_agent.agent.secrets import Secrets
from qwen_gui_agent.errors import SecretError


def test_from_pairs_keeps_equals_signs_in_values() -> None:
    secrets = Secrets.from_pairs(["PASSWORD=a=b c", "TOKEN = xyz"])
    assert secrets.names == ("PASSWORD", "TOKEN")
    assert secrets.expand("{PASSWORD}/{TOKEN}") == "a=b c/ xyz"


@pytest.mark.parametrize("pair, words", [
    ("PASSWORD", "NAME=VALUE"),
    ("1ABC=x", "not valid"),
    ("A-B=x", "not valid"),
    ("EMPTY=", "shorter than 3"),
    ("PIN=12", "shorter than 3"),
])
def test_bad_pairs_raise_a_typed_error(pair: str, words: str) -> None:
    with pytest.raises(SecretError, match=words):
        Secrets.from_pairs([pair])


def test_from_env_reads_prefixed_variables_only() -> None:
    environ = {"QWEN_AGENT_SECRET_PIN": "1234", "QWEN_AGENT_SECRET_": "x", "HOME": "/root"}
    secrets = Secrets.from_env(environ=environ)
    assert secrets.names == ("PIN",)
    assert secrets.expand("pin {PIN}") == "pin 1234"


def test_expand_action_touches_typed_text_and_urls_only() -> None:
    secrets = Secrets({"PW": "s3cr3t", "HOST": "intra.example"})
    typed = secrets.expand_action(TypeText(text="{PW}\n"))
    assert typed == TypeText(text="s3cr3t\n")
    assert secrets.expand_action(Navigate(url="https://{HOST}/x")) == Navigate(
        url="https://intra.example/x"
    )
    click = Click(x=1, y=2)
    assert secrets.expand_action(click) is click
    # Unknown placeholders and plain braces stay as typed.
    assert secrets.expand_action(TypeText(text="{OTHER} {}")).text == "{OTHER} {}"


def test_redact_replaces_values_longest_first_everywhere() -> None:
    secrets = Secrets({"SHORT": "abc", "LONG": "abcdef"})
    assert secrets.redact("x abcdef y abc") == "x {LONG} y {SHORT}"
    data = {"k": ["abc", ("abcdef", 3)], "abc": None}
    assert secrets.redact_data(data) == {"k": ["{SHORT}", ("{LONG}", 3)], "{SHORT}": None}


def test_values_never_show_in_repr_and_the_note_names_placeholders_only() -> None:
    secrets = Secrets({"PASSWORD": "hunter2"})
    assert "hunter2" not in repr(secrets)
    note = secrets.prompt_note()
    assert "{PASSWORD}" in note and "hunter2" not in note
    assert Secrets().prompt_note() == "" and not Secrets()


def test_merged_prefers_the_second_set() -> None:
    merged = Secrets({"A": "one", "B": "two"}).merged(Secrets({"B": "three"}))
    assert merged.expand("{A}-{B}") == "one-three"


def test_redact_catches_url_encoded_values() -> None:
    secrets = Secrets({"PW": "p@ss word!"})
    url = "http://127.0.0.1/result.html?a=p%40ss+word%21&b=p%40ss%20word%21"
    assert secrets.redact(url) == "http://127.0.0.1/result.html?a={PW}&b={PW}"
