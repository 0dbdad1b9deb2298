import sys

from kitemark.cli import main

sys.exit(main())
