from cancerassist.cli import app

app()
