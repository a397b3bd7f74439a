from destination_twenty.run import run

if __name__ == "__main__":
    run()
