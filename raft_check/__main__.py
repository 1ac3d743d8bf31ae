from raft_check.cli import main

raise SystemExit(main())
