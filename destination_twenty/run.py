import sys


def run() -> None:
    args = sys.argv[1:]
    if args[:1] == ["discover"]:  # not a CDK command (the CDK has no destination discover)
        from destination_twenty.discover import main

        sys.exit(main(args[1:]))
    from destination_twenty.destination import DestinationTwenty

    DestinationTwenty().run(args)
