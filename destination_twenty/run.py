import sys

from destination_twenty.destination import DestinationTwenty


def run() -> None:
    DestinationTwenty().run(sys.argv[1:])
