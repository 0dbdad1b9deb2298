from kitemark.cli import entry

entry()
