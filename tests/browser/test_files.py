"""Files in Chromium: upload through the presigned URL with a progress bar, the list,
a download saved under the file's name, delete, and the storage quota."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from .conftest import Axe, SignIn

DATA = b"tenantkit console upload\n" * 80_000  # 2 MB: the upload reports progress


def test_upload_list_download_delete_with_the_quota(
    page: Page, sign_in: SignIn, axe: Axe, tmp_path: Path
) -> None:
    sign_in(page, "admin@acme.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Files").click()
    expect(page.get_by_role("heading", level=1, name="Files")).to_be_visible()
    expect(page.get_by_text("No files yet")).to_be_visible()
    quota = page.get_by_text(re.compile(r"^Storage: .* of 100 MB used$"))
    expect(quota).to_have_text("Storage: 0 B of 100 MB used")
    # the progress bar is shown while the PUT goes to the presigned URL
    page.evaluate(
        """() => {
            window.__progress = [];
            new MutationObserver(() => {
                const bar = document.querySelector('[role="progressbar"], progress');
                if (bar) window.__progress.push(Number(bar.value));
            }).observe(document.body, {subtree: true, childList: true, attributes: true});
        }"""
    )
    page.get_by_label("Upload a file").set_input_files(
        {"name": "report.txt", "mimeType": "text/plain", "buffer": DATA}
    )
    expect(page.get_by_role("status").filter(has_text="Uploaded report.txt.")).to_be_visible()
    seen: list[float] = page.evaluate("() => window.__progress")
    assert seen, "no progress bar was shown"
    assert seen[0] < 100, seen
    assert max(seen) == 100, seen
    assert seen == sorted(seen), seen
    table = page.get_by_role("table")
    row = table.get_by_role("row").filter(has_text="report.txt")
    expect(row).to_contain_text("2 MB")
    expect(quota).to_have_text("Storage: 2 MB of 100 MB used")
    assert axe(page) == []
    # download: the file's bytes, under its name
    with page.expect_download() as download:
        page.get_by_role("button", name="Download report.txt").click()
    saved = tmp_path / "saved.txt"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "report.txt"
    assert saved.read_bytes() == DATA
    # delete (confirmed in the dialog): gone from the list, its bytes given back
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete report.txt").click()
    expect(page.get_by_role("status").filter(has_text="Deleted report.txt.")).to_be_visible()
    expect(page.get_by_text("No files yet")).to_be_visible()
    expect(quota).to_have_text("Storage: 0 B of 100 MB used")


def test_a_member_sees_the_teams_files_but_deletes_only_their_own(
    page: Page, sign_in: SignIn
) -> None:
    sign_in(page, "member@acme.example")
    page.goto(page.url.split("/chat")[0] + "/files")
    page.get_by_label("Upload a file").set_input_files(
        {"name": "mine.txt", "mimeType": "text/plain", "buffer": b"member's"}
    )
    expect(page.get_by_role("button", name="Delete mine.txt")).to_be_visible()
    expect(page.get_by_role("progressbar")).to_have_count(0)
