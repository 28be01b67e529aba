"""The topic taxonomy every agent of the stack shares, and the content loader's errors."""

from __future__ import annotations

import pytest
from pydantic import Field

from kit.content import (
    ContentError,
    ContentModel,
    load_yaml_dir,
    topic_ids,
    topic_of,
    topics,
)


def test_the_taxonomy_loads_in_curriculum_order():
    ids = topic_ids()
    assert ids[:3] == ("basics", "variables", "numbers")
    assert len(ids) == len(set(ids)) >= 15
    assert all(topic.title for topic in topics())


@pytest.mark.parametrize(
    "text, topic",
    [
        ("how do for loops work?", "loops"),
        ("what is a dictionary", "dicts"),
        ("explain list comprehensions please", "comprehensions"),
        ("my class has no attribute x", "classes"),
        ("tell me a joke", None),
        ("KeyError when I read scores['bob']", None),
        ("how do I use try/except", "exceptions"),
        ("what does __init__ do", "classes"),
        ("what is the difference between a list and a set", "lists"),
    ],
)
def test_a_question_is_placed_in_the_taxonomy(text, topic):
    assert topic_of(text) == topic


class _Entry(ContentModel):
    id: str
    size: int = Field(ge=0)


def test_a_bad_entry_is_an_error_naming_file_entry_and_field(tmp_path):
    (tmp_path / "a.yaml").write_text("- id: fine\n  size: 1\n- id: broken\n  size: -3\n")
    with pytest.raises(ContentError) as error:
        load_yaml_dir(_Entry, tmp_path)
    assert "a.yaml" in str(error.value) and "broken" in str(error.value)
    assert "size" in str(error.value)
    (tmp_path / "a.yaml").write_text("- id: x\n  colour: red\n")
    with pytest.raises(ContentError, match="colour"):
        load_yaml_dir(_Entry, tmp_path)
