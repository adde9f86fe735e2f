using P2PNet.Bench;

// P2PNet benchmarks, all on loopback in one process:
//   dotnet run -c Release --project bench/P2PNet.Bench -- [wire] [--mib N] [--rounds R] [--rtt K] [--setup-rounds P] [--seconds S] [--only bulk,rtt,setups]
//   dotnet run -c Release --project bench/P2PNet.Bench -- packets [--scale F] [--rounds K]
// wire (the default): bulk throughput of plain TCP, TLS 1.3 (mutual ECDSA P-256) and Noise+yamux with the crypto and
// serial limits, framed ping-pong of TCP, TLS and the secure stream, and secure setups per second against full TLS 1.3
// handshakes in paired rounds (with CPU time per setup), all in the same run.
// packets: PeerChannel packets (PureMessage, DataTransmission) of 64 B, 1 KiB and 64 KiB against plain framed
// TCP and the secure stream, and PureMessage request/response latency against plain TCP ping-pong.
//   dotnet run -c Release --project bench/P2PNet.Bench -- bootstrap [--seconds S] [--rounds R] [--peers N] [--concurrency C]
// bootstrap: registrations and peer queries per second of one bootstrap server (SQLite), memory with N peers.
//   dotnet run -c Release --project bench/P2PNet.Bench -- discovery [--rounds R]
// discovery: time to find a peer by mDNS and LAN broadcast vs one raw multicast datagram, and a ten-node full
// mesh through peer exchange vs ten nodes told every address; runs itself in a private namespace (root).
//   dotnet run -c Release --project bench/P2PNet.Bench -- transfer [--mib N] [--throttled-mib M]
// transfer: verified file transfer against `p2pnet share` children: vs /perf, 1 vs 4 providers (throttled and
// not), re-fetched bytes after kill -9, receiver memory, tree hashing vs raw BLAKE3.
//   dotnet run -c Release --project bench/P2PNet.Bench -- scale [--channels 1000,5000,10000] [--cycles N] [--attack N]
// scale: memory per idle PeerChannel on each side, memory/FDs/KnownPeers over connect-message-disconnect cycles and
// admission of a good peer while idle sockets are held; a server and client processes (re-launched children).
//   dotnet run -c Release --project bench/P2PNet.Bench -- relay [--mib N] [--rounds R] [--reservations N] [--circuits N]
// relay: /perf throughput through our circuit relay (limits off) against a direct connection, interleaved; relay
// service memory (heap, RSS) per reservation and per circuit, in a child process running only the relay.
//   dotnet run -c Release --project bench/P2PNet.Bench -- soak [--duration S] [--nodes N] [--rate R] ...
// soak: the churn and partition soak (root): nodes in network namespaces on a bridge send numbered messages to each
// other while links are cut, nodes are killed -9 and restarted, the bootstrap server too; prints per pair what was
// sent, delivered, duplicated, reordered, reported or lost without report (docs/soak.md).
//   dotnet run -c Release --project bench/P2PNet.Bench -- natlab [--trials N] [--pairs masq:masq,…] [--prefix P] [--timeline] [--cli DLL]
// natlab: DCUtR hole punching across every pair of NAT kinds in network namespaces (root, nftables): direct-connection
// success, relay fallback, attempts, time from relayed to direct (p50/p95); real p2pnet processes.
string mode = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "wire";
string[] rest = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;
switch (mode)
{
    case "wire":
        return await WireBench.RunAsync(rest);
    case "packets":
        return await PacketBench.RunAsync(rest);
    case "bootstrap":
        return await BootstrapBench.RunAsync(rest);
    case "discovery":
        return await DiscoveryBench.RunAsync(rest);
    case "transfer":
        return await TransferBench.RunAsync(rest);
    case "scale":
        return await ScaleBench.RunAsync(rest);
    case "scale-server":
        return await ScaleBench.ServerAsync(rest);
    case "scale-client":
        return await ScaleBench.ClientAsync(rest);
    case "relay":
        return await RelayBench.RunAsync(rest);
    case "relay-server":
        return await RelayBench.ServerAsync(rest);
    case "soak":
        return await SoakBench.RunAsync(rest);
    case "soak-node":
        return await SoakNode.RunAsync(rest);
    case "soak-bootstrap":
        return await SoakNode.BootstrapAsync(rest);
    case "natlab":
        return await NatLabBench.RunAsync(rest);
    default:
        Console.Error.WriteLine($"unknown benchmark '{mode}': use wire (default), packets, bootstrap, discovery, transfer, scale, relay, soak or natlab");
        return 2;
}
