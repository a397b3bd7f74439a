from destination_twenty.airbyte.cli import run

if __name__ == "__main__":
    run()
