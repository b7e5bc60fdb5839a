from nlp.cli.app import main

main()
