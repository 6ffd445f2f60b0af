"""Issue 12 item 13: the Train page's ``?job=`` comes from the address; it is never put
into the page as Markdown, an id that is not a job id is refused with a clear message,
and a well-formed but unknown id says so."""
import uuid

import pytest
from streamlit.testing.v1 import AppTest

from digitlab import training
from tests.conftest import REPO

TIMEOUT = 90
PLAIN = ("code", "text")  # elements that show their text as is (no Markdown)

HOSTILE = [
    "[x](http://evil)",
    "**bold**![i](http://e/i.png)",
    "<img src=http://e/i.png>",
    "j1-abcdef\n\n[x](http://evil)",  # a job id, then Markdown
]


def walk(node):
    yield node
    for c in getattr(node, "children", {}).values():
        yield from walk(c)


def train_page(job: str, lang: str = "en") -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.session_state["lang"] = lang
    at.query_params["job"] = job
    at.run()
    at.switch_page("pages/train.py")
    at.query_params["job"] = job
    at.run()
    assert not at.exception, at.exception
    return at


def rendered_not_plain(at) -> list[str]:
    """The protobuf text of every element that is not plain text (Markdown, alerts, HTML, labels...)."""
    return [str(n.proto) for n in walk(at._tree) if getattr(n, "type", None) not in PLAIN and getattr(n, "proto", None)]


@pytest.mark.parametrize("job", HOSTILE)
def test_hostile_job_param_is_refused_as_plain_text(job):
    at = train_page(job)
    for s in rendered_not_plain(at):
        for bad in ("evil", "e/i.png", "bold", "<img"):
            assert bad not in s, s
    assert [e.value for e in at.error if "not a job id" in e.value], [e.value for e in at.error]
    assert any(c.value == job for c in at.code)  # what was refused, shown verbatim as plain text
    assert "train_job" not in at.session_state or at.session_state["train_job"] != job


def test_hostile_job_param_message_in_spanish():
    at = train_page("[x](http://evil)", lang="es")
    assert any("no es un identificador de trabajo" in e.value for e in at.error), [e.value for e in at.error]
    assert not any("evil" in s for s in rendered_not_plain(at))


def test_unknown_but_wellformed_job_id_is_a_clear_message():
    jid = "j999999-abcdef"
    at = train_page(jid)
    assert not at.error
    assert any("not known to this server" in i.value for i in at.info), [i.value for i in at.info]
    assert any(f"`{jid}`" in i.value for i in at.info)  # the id as inline code: plain text


def test_is_job_id():
    made = f"j{7}-{uuid.uuid4().hex[:6]}"  # the format Worker.submit makes
    assert training.is_job_id(made)
    for ok in ("j1-abcdef", "j12-0a9f3c", "j123456-000000"):
        assert training.is_job_id(ok), ok
    for bad in ("", "j-abcdef", "j1-abcde", "j1-abcdefa", "j1-ABCDEF", "x1-abcdef", "j1_abcdef", "j01-abcdef",
                "j1-abcdef\n", " j1-abcdef", "[x](http://evil)", None, 5, "j" + "1" * 40 + "-abcdef"):
        assert not training.is_job_id(bad), bad
