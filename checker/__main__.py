from checker.front_door import main

raise SystemExit(main())
