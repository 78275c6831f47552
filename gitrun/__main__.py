from gitrun.cli import main

main()
