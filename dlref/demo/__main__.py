import sys

from dlref.demo.cli import main

sys.exit(main())
