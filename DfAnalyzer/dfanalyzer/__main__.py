from dfanalyzer.cli.main import main

main()
