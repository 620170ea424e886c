"""Secrets in a real Jupyter kernel: a distinct token planted through every route, runs that succeed and fail,
the submission, then every byte the project produced is searched for every token.

Routes: a literal ``token=`` in ``--model_args``, ``$VAR`` from the notebook, ``%mera secret`` (the session's
store, filled the way the command fills it), each secret-named variable, an ``Authorization`` header, URL
userinfo, and lm_eval 0.4.4's string-form ``model_args`` in a results file.  Searched: the saved ``.ipynb``
(outputs and metadata; the cell sources hold what the user typed), the results and samples files of the runs,
the submission archive and its ``logs_public.zip``.  The child's ``/proc/<pid>/cmdline`` is searched by
``tests/test_secrets.py::test_child_command_line_has_no_secret``.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

TOKENS = {
    "literal": "hf_" + "KLITERALaaaaaaaaaaaaaaaaaaa",  # assembled: no token-shaped literal committed
    "var": "KVARTOKEN-bbbbbbbbbbbb",
    "mera_secret": "KSESSION-cccccccccc",
    "USE_AUTH_TOKEN": "kuseauth-dddddddddd",
    "ACCESS_TOKEN": "kaccess-eeeeeeeeee",
    "OPENAI_API_KEY": "kopenai-ffffffffff",
    "API_TOKEN": "kapitoken-gggggggg",
    "AWS_SECRET_ACCESS_KEY": "kawssecret-hhhhhhh",
    "MY_PASSWORD": "kpassword-iiiiiiii",
    "header": "kheader-jjjjjjjjjj",
    "userinfo": "kuserinfo-kkkkkkkk",
    "string_model_args": "kstring044-llllllll",
}


def _without_sources(nb: nbformat.NotebookNode) -> str:
    stripped = json.loads(json.dumps(nb))
    for cell in stripped["cells"]:
        cell["source"] = ""
    return json.dumps(stripped, ensure_ascii=False)


def _hits(blob: bytes | str) -> list[str]:
    data = blob.encode("utf-8") if isinstance(blob, str) else blob
    return [name for name, token in TOKENS.items() if token.encode() in data]


def test_no_token_in_anything_the_project_wrote(demo_model: Path, demo_tasks: Path, demo_scored_output: Path,
                                                tmp_path: Path) -> None:
    (tmp_path / "tokens.json").write_text(json.dumps(TOKENS), encoding="utf-8")
    # lm_eval 0.4.4 records --model_args as text: a results folder in that form (written here, not by the project)
    old = tmp_path / "old044"
    shutil.copytree(demo_scored_output, old)
    for results in old.rglob("results_*.json"):
        raw = json.loads(results.read_text(encoding="utf-8"))
        raw["config"]["model_args"] = (f"pretrained={demo_model},use_auth_token={TOKENS['string_model_args']},"
                                       "dtype=float32")
        results.write_text(json.dumps(raw), encoding="utf-8")
    variables = " ".join(f"{name}=${{T_{name}}}" for name in ("USE_AUTH_TOKEN", "ACCESS_TOKEN", "OPENAI_API_KEY",
                                                               "API_TOKEN", "AWS_SECRET_ACCESS_KEY", "MY_PASSWORD"))
    run_args = (f"--device cpu --batch_size 4 --include_path {demo_tasks} --log_samples --tasks parus")
    cells = [
        # the tokens come from a file, so that only the literal route's token is in a cell's source
        "import json, pathlib\nfrom mera_magic.session import SESSION\n"
        "T = json.loads(pathlib.Path('tokens.json').read_text())\n"
        "SESSION.secrets['MYKEY'] = T['mera_secret']  # what `%mera secret MYKEY` stores\n"
        "VARKEY = T['var']\n"
        "for k, v in T.items():\n    globals()['T_' + k] = v\n"
        "%load_ext mera_magic",
        f"%%mera -o r1\nVAR_TOKEN=$VARKEY SESSION_TOKEN=$MYKEY {variables} lm_eval --model hf --model_args "
        f"pretrained={demo_model},dtype=float32,token={TOKENS['literal']} {run_args} --output_path out1",
        "r1",
        "print(r1.spec); r1.spec",
        "print(r1.config); print(r1.to_markdown()); __import__('mera_magic.display').display.to_html(r1, 'page.html'); r1.to_csv('table.csv')",
        f"%%mera -o r2 --subprocess\n{variables} lm_eval --model hf --model_args "
        f"pretrained={demo_model},dtype=float32,token=$MYKEY {run_args} --output_path out2",
        "r2",
        # a failing run: a server that is not there, credentials in the URL, a header and an API key
        "%%mera\nOPENAI_API_KEY=$T_OPENAI_API_KEY lm_eval --model local-completions --model_args "
        '"{\\"base_url\\": \\"http://user:${T_userinfo}@127.0.0.1:9/v1/completions\\", \\"model\\": \\"x\\", '
        '\\"tokenizer_backend\\": null, \\"max_retries\\": 1, '
        '\\"header\\": {\\"Authorization\\": \\"Bearer ${T_header}\\"}}" '
        f"--include_path {demo_tasks} --tasks simplear --limit 1 --predict_only --output_path out3",
        # the same run started anyway (checks off): it fails inside lm_eval, with the same credentials in play
        "import mera_magic\nmera_magic.run(get_ipython().history_manager.input_hist_raw[-2].split('\\n', 1)[1], run_checks=False)",
        "%config MeraMagic.short_errors = False",
        "import mera_magic\nspec = mera_magic.parse('lm_eval --model local-completions --model_args "
        "base_url=http://127.0.0.1:9/v1/completions --tasks parus')\n"
        "spec.model_args['header'] = {'Authorization': 'Bearer ' + T_header}\nprint(spec); spec",
        "raise mera_magic.MeraError('failed with Bearer ' + T_header + ' and ' + T_userinfo)",
        "import mera_magic\nold = mera_magic.load('old044')\nprint(old.config); old",
        "sub = mera_magic.submission('out1', dst='sub.zip', tasks='parus', allow_partial=True)\nsub",
        "mera_magic.runs('old044')",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    nbformat.write(nb, tmp_path / "saved.ipynb")
    errors = {i: o["ename"] for i, c in enumerate(nb.cells) for o in c.outputs if o.output_type == "error"}
    # the failing run and the raised error; every other cell ran
    # the pre-flight probe refuses the failing run before it starts; started anyway, it fails in lm_eval
    assert errors == {7: "CheckError", 8: "RunError", 11: "MeraError"}, [c.outputs for c in nb.cells if c.outputs][-6:]
    # every byte the project produced, and the notebook as saved
    assert _hits(_without_sources(nbformat.read(tmp_path / "saved.ipynb", as_version=4))) == []
    for folder in ("out1", "out2"):
        files = [p for p in (tmp_path / folder).rglob("*") if p.is_file()]
        assert any(p.name.startswith("results_") for p in files) and any(p.name.startswith("samples_") for p in files)
        assert _hits(b"".join(p.read_bytes() for p in files)) == [], folder
    for name in ("page.html", "table.csv"):
        assert _hits((tmp_path / name).read_bytes()) == [], name
    archive = tmp_path / "sub.zip"
    assert _hits(archive.read_bytes()) == []
    with zipfile.ZipFile(archive) as zf, zipfile.ZipFile(io.BytesIO(zf.read("logs_public.zip"))) as logs:
        assert logs.namelist()
        assert _hits(b"".join(logs.read(n) for n in logs.namelist())) == []
