import DevnetCLI

@main enum Entrypoint { static func main() async { await Devnet.main() } }
