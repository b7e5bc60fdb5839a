from nlp.cli.app import main

if __name__ == "__main__":  # spawned text processes import the main module too
    main()
