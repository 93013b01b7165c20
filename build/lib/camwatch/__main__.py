import sys

from camwatch.cli import main

sys.exit(main())
