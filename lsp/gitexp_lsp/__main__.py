from gitexp_lsp import main

main()
