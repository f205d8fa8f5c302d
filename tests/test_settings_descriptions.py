"""Settings fields are documented with ``Field(description=...)``, never a docstring.

pydantic reads a field's docstring only with ``use_attribute_docstrings``, which parses
the class's source when the class is built: about 6 ms per settings class on the cold
start path, and nothing at all when only bytecode is deployed
(``bench/settings_docstrings.py``). So tenantkit leaves it off, and a docstring under a
field never reaches ``tenantkit secret schema --json``. This check finds one.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _settings_classes(tree: ast.Module) -> list[ast.ClassDef]:
    return [
        node
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and any(ast.unparse(base).endswith("ProviderSettings") for base in node.bases)
    ]


def field_docstrings(source: str) -> list[str]:
    """``Class.field`` for each settings field followed by a bare string."""
    found = []
    for cls in _settings_classes(ast.parse(source)):
        for field, after in zip(cls.body, cls.body[1:], strict=False):
            if (
                isinstance(field, ast.AnnAssign)
                and isinstance(field.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                found.append(f"{cls.name}.{field.target.id}")
    return found


def test_the_check_finds_a_field_docstring() -> None:
    source = (
        "class S(tenantkit.ProviderSettings):\n"
        '    """The class docstring is fine."""\n'
        "    a: int = 1\n"
        '    """Lost: never in the schema."""\n'
        '    b: str = Field(description="kept")\n'
    )
    assert field_docstrings(source) == ["S.a"]


def test_no_settings_field_has_a_docstring() -> None:
    files = [
        *ROOT.glob("core/src/tenantkit/**/*.py"),
        *ROOT.glob("plugins/*/src/**/*.py"),
        *ROOT.glob("runtime/src/**/*.py"),
    ]
    assert len(files) > 20
    found = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in files
        for name in field_docstrings(path.read_text())
    }
    assert not found, "use Field(description=...) instead of a docstring:\n" + "\n".join(
        sorted(found)
    )
