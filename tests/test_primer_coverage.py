"""Every question of the primer (../shared/primer.md, beside the repo) is answered by a notebook:
each notebook opens with a table of the questions it answers, and together they cover all 84."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRIMER = ROOT.parent / "shared" / "primer.md"
# a question starts a line: "#### 12. ...", "## 7. ...", "**80.** ...", "- 84. ...", "20. ..."
QUESTION = re.compile(r"^[#\-\s*]*(\d{1,2})\.\**\s+\S", re.M)


def primer_questions():
    return sorted({int(n) for n in QUESTION.findall(PRIMER.read_text(encoding="utf-8"))})


def answered():
    found = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        first = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])
        for n in re.findall(r"^\|\s*Q(\d+)\s*\|", first, re.M):
            found.setdefault(int(n), []).append(path.name)
    return found


@pytest.mark.skipif(not PRIMER.exists(), reason=f"the primer is not beside the repo ({PRIMER})")
def test_every_primer_question_has_a_notebook():
    questions = primer_questions()
    assert questions == list(range(1, 85)), f"primer parse: {questions}"
    missing = [q for q in questions if q not in answered()]
    assert not missing, f"primer questions no notebook answers: {missing}"
