"""tenantkit.llm.image_source: the one reading of an image part every LLM plugin uses."""

from __future__ import annotations

import pytest

from tenantkit.errors import InvalidRequest
from tenantkit.llm import ImagePart, InlineImage, image_source


def test_bytes_are_sent_base64_with_their_type() -> None:
    part = ImagePart(data=b"\x89PNG", media_type="image/png")
    assert image_source(part, "m[0].content[0]") == InlineImage("image/png", "iVBORw==")


def test_a_data_url_is_read_and_a_plain_url_kept() -> None:
    data = ImagePart(url="data:image/jpeg;base64,/9j/")
    assert image_source(data, "w") == InlineImage("image/jpeg", "/9j/")
    assert image_source(ImagePart(url="https://example.com/a.png"), "w") == (
        "https://example.com/a.png"
    )


@pytest.mark.parametrize(
    ("part", "field"),
    [
        (ImagePart(data=b"x"), "m[1].content[2].media_type"),
        (ImagePart(), "m[1].content[2]"),
        (ImagePart(url="data:image/png,abc"), "m[1].content[2].url"),
        (ImagePart(url="data:image/png;base64,not base64!"), "m[1].content[2].url"),
    ],
)
def test_a_bad_part_names_its_field_and_provider(part: ImagePart, field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        image_source(part, "m[1].content[2]", provider="claude")
    assert str(caught.value).startswith(f"{field}: ")
    assert caught.value.provider == "claude"
