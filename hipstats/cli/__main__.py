import sys

from hipstats.cli import main

sys.exit(main())
