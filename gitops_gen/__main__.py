import sys

from gitops_gen.cli import main

sys.exit(main())
