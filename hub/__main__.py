from hub.entrypoints.cli import main

main()
