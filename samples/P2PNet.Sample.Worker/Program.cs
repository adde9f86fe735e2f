using P2PNet.Sample.Worker;

// dotnet run --project samples/P2PNet.Sample.Worker [-- --P2PNet:Peers:0 /ip4/127.0.0.1/tcp/4001/p2p/<PeerId>]
await SampleHost.CreateBuilder(args).Build().RunAsync().ConfigureAwait(false);
