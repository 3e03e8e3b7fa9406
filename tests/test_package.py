import subprocess
import sys

import mrekv


def test_import_is_light():
    code = (
        "import sys, mrekv; "
        "heavy = [m for m in ('torch','transformers','fugashi','jieba','nltk','sklearn','rjieba') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_all_names_resolve():
    for name in mrekv.__all__:
        assert getattr(mrekv, name) is not None, name
