from mmrag.cli import app

app()
