using System.Security.Cryptography;
using P2PNet.Core;
using P2PNet.Protocols.Transfer;
using P2PNet.Swarm;
using P2PNet.Wire;

namespace P2PNet.Tests.Protocols.Transfer;

/// <summary>Requests a hostile peer may send: each gets a clear answer or a reset, and the provider keeps serving.</summary>
public sealed class TransferHostileTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static async Task<(SwarmHost Seed, TransferService Service, SharedFile Share, SwarmHost Client, Connection Connection)> StartAsync(string dir, TransferOptions options)
    {
        string path = Path.Combine(dir, "f.bin");
        await File.WriteAllBytesAsync(path, RandomNumberGenerator.GetBytes(4 << 20));
        var id = Identity.Generate();
        var seed = new SwarmHost(id);
        var service = new TransferService(seed, options) { Authorize = (_, _) => true };
        var share = await service.ShareAsync(path);
        var addr = (await seed.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))).WithPeerId(id.PeerId);
        var client = new SwarmHost(Identity.Generate());
        return (seed, service, share, client, await client.DialAsync(addr).WaitAsync(Timeout));
    }

    private static async Task<int> StatusAsync(Connection connection, byte[] body)
    {
        await using var stream = await connection.OpenStreamAsync(TransferProtocol.Id);
        await LengthPrefixed.WriteAsync(stream, body);
        await stream.CloseWriteAsync();
        var status = new byte[1];
        try
        {
            return await stream.ReadAtLeastAsync(status, 1, throwOnEndOfStream: false).AsTask().WaitAsync(Timeout) == 0 ? -1 : status[0];
        }
        catch (IOException)
        {
            return -1; // reset
        }
    }

    [Fact]
    public async Task Bad_ranges_unknown_content_and_garbage_are_refused_and_serving_goes_on()
    {
        using var dir = new TempDir();
        var (seed, service, share, client, connection) = await StartAsync(dir.Path, TransferOptions.Default);
        await using var _s = seed;
        await using var _c = client;
        using var _t = service;
        long groups = MerkleTree.GroupCount(share.Size);

        Assert.Equal((int)TransferStatus.BadRange, await StatusAsync(connection, TransferProtocol.EncodeRequest(new TransferRequest(share.Id, default, groups - 1, 2))));
        Assert.Equal((int)TransferStatus.BadRange, await StatusAsync(connection, TransferProtocol.EncodeRequest(new TransferRequest(share.Id, default, groups, 1))));
        Assert.Equal((int)TransferStatus.NotFound, await StatusAsync(connection, TransferProtocol.EncodeRequest(new TransferRequest(MerkleTree.ComputeId([9]), default, 0, 1))));
        Assert.Equal(-1, await StatusAsync(connection, TransferProtocol.EncodeRequest(new TransferRequest(share.Id, default, 0, TransferProtocol.MaxGroupsPerRequest)).Concat(new byte[] { 0 }).ToArray()));
        Assert.Equal(-1, await StatusAsync(connection, RandomNumberGenerator.GetBytes(100)));
        Assert.Equal(-1, await StatusAsync(connection, new byte[TransferProtocol.MaxRequestSize + 1]));

        string target = Path.Combine(dir.Path, "got.bin");
        using var clientService = new TransferService(client);
        await clientService.FetchAsync(share.Id, share.Size, [connection], target).WaitAsync(Timeout);
        Assert.Equal(await File.ReadAllBytesAsync(share.Path), await File.ReadAllBytesAsync(target));
    }

    [Fact]
    public async Task A_request_flood_from_one_peer_is_answered_busy_past_the_limit()
    {
        using var dir = new TempDir();
        var (seed, service, share, client, connection) = await StartAsync(dir.Path, new TransferOptions { MaxConcurrentPerPeer = 2, MaxBytesPerSecond = 50_000 });
        await using var _s = seed;
        await using var _c = client;
        using var _t = service;
        var slow = new List<MuxedStream>();
        try
        {
            for (int i = 0; i < 2; i++)
            {
                var stream = await connection.OpenStreamAsync(TransferProtocol.Id);
                slow.Add(stream);
                await TransferProtocol.WriteRequestAsync(stream, new TransferRequest(share.Id, default, i * 64, 64));
                await stream.CloseWriteAsync();
                var status = new byte[1];
                await stream.ReadExactlyAsync(status).AsTask().WaitAsync(Timeout);
                Assert.Equal((byte)TransferStatus.Ok, status[0]);
            }
            Assert.Equal((int)TransferStatus.Busy, await StatusAsync(connection, TransferProtocol.EncodeRequest(new TransferRequest(share.Id, default, 200, 1))));
        }
        finally
        {
            foreach (var s in slow)
            {
                s.Reset();
                await s.DisposeAsync();
            }
        }
    }
}
