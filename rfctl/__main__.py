from rfctl.cli import main

raise SystemExit(main())
