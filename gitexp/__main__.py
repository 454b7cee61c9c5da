from gitexp.cli import main

main()
