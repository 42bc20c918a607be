"""dlviz: the table of contents and the shared sidebar (dlviz/ui/nav.py). Pages live in pages/."""

from dlviz.ui.nav import run_app

run_app()
