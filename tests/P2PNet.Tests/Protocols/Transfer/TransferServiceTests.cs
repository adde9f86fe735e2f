using System.Security.Cryptography;
using P2PNet.Core;
using P2PNet.Protocols.Transfer;
using P2PNet.Swarm;

namespace P2PNet.Tests.Protocols.Transfer;

/// <summary>Fetches between hosts on loopback TCP: one provider, several with a liar among them, access, limits.</summary>
public sealed class TransferServiceTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private sealed class Node : IAsyncDisposable
    {
        private Node(SwarmHost host, TransferService transfer, Multiaddr address)
        {
            Host = host;
            Transfer = transfer;
            Address = address;
        }

        public SwarmHost Host { get; }

        public TransferService Transfer { get; }

        public Multiaddr Address { get; }

        public static async Task<Node> StartAsync(TransferOptions? options = null)
        {
            var id = Identity.Generate();
            var host = new SwarmHost(id);
            var transfer = new TransferService(host, options);
            var address = (await host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))).WithPeerId(id.PeerId);
            return new Node(host, transfer, address);
        }

        public async ValueTask DisposeAsync()
        {
            Transfer.Dispose();
            await Host.DisposeAsync();
        }
    }

    private static async Task<string> WriteRandomFileAsync(string folder, string name, long size)
    {
        string path = Path.Combine(folder, name);
        await using var file = File.Create(path);
        var buffer = new byte[1 << 20];
        for (long left = size; left > 0; left -= buffer.Length)
        {
            RandomNumberGenerator.Fill(buffer);
            await file.WriteAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)));
        }
        return path;
    }

    private static async Task AssertSameFileAsync(string expected, string actual)
    {
        await using var a = File.OpenRead(expected);
        await using var b = File.OpenRead(actual);
        Assert.Equal(a.Length, b.Length);
        var ba = new byte[1 << 20];
        var bb = new byte[1 << 20];
        while (true)
        {
            int n = await a.ReadAtLeastAsync(ba, ba.Length, throwOnEndOfStream: false);
            int m = await b.ReadAtLeastAsync(bb, bb.Length, throwOnEndOfStream: false);
            Assert.Equal(n, m);
            if (n == 0) return;
            Assert.True(ba.AsSpan(0, n).SequenceEqual(bb.AsSpan(0, m)), "the fetched file differs");
        }
    }

    [Fact]
    public async Task Sixty_four_MiB_from_one_provider_with_a_ticket_secret()
    {
        using var dir = new TempDir();
        string source = await WriteRandomFileAsync(dir.Path, "big.bin", 64L << 20);
        await using var seed = await Node.StartAsync();
        await using var leech = await Node.StartAsync();
        var share = await seed.Transfer.ShareAsync(source, withSecret: true);
        var connection = await leech.Host.DialAsync(seed.Address).WaitAsync(Timeout);
        string target = Path.Combine(dir.Path, "out", "big.bin");
        var reports = new List<TransferProgress>();
        var result = await leech.Transfer.FetchAsync(share.Id, share.Size, [connection], target,
            new FetchOptions { Secret = share.Secret }, new SyncProgress(reports.Add)).WaitAsync(Timeout);
        Assert.Equal(64L << 20, result.FetchedBytes);
        Assert.Equal(0, result.ResumedBytes);
        await AssertSameFileAsync(source, target);
        Assert.False(File.Exists(target + ".partial"));
        Assert.False(File.Exists(target + ".partial.bits"));
        Assert.Equal(64L << 20, reports[^1].BytesVerified);
    }

    [Fact]
    public async Task Without_the_secret_or_trust_the_provider_refuses_and_the_destination_is_protected()
    {
        using var dir = new TempDir();
        string source = await WriteRandomFileAsync(dir.Path, "f.bin", 100_000);
        await using var seed = await Node.StartAsync();
        await using var leech = await Node.StartAsync();
        var share = await seed.Transfer.ShareAsync(source, withSecret: true);
        var connection = await leech.Host.DialAsync(seed.Address).WaitAsync(Timeout);
        string target = Path.Combine(dir.Path, "got.bin");

        var denied = await Assert.ThrowsAsync<TransferException>(() => leech.Transfer.FetchAsync(share.Id, share.Size, [connection], target).WaitAsync(Timeout));
        Assert.Equal(TransferError.NoProviders, denied.Error);
        Assert.False(File.Exists(target));

        var wrong = new byte[16];
        var stillDenied = await Assert.ThrowsAsync<TransferException>(() =>
            leech.Transfer.FetchAsync(share.Id, share.Size, [connection], target, new FetchOptions { Secret = wrong }).WaitAsync(Timeout));
        Assert.Equal(TransferError.NoProviders, stillDenied.Error);

        // Trust granted by the service's hook (the facade grants it to Enhanced channels).
        seed.Transfer.Authorize = (peer, _) => peer == leech.Host.LocalPeerId;
        await leech.Transfer.FetchAsync(share.Id, share.Size, [connection], target).WaitAsync(Timeout);
        await AssertSameFileAsync(source, target);

        var exists = await Assert.ThrowsAsync<TransferException>(() => leech.Transfer.FetchAsync(share.Id, share.Size, [connection], target).WaitAsync(Timeout));
        Assert.Equal(TransferError.Destination, exists.Error);
        await leech.Transfer.FetchAsync(share.Id, share.Size, [connection], target, new FetchOptions { Overwrite = true }).WaitAsync(Timeout);
        await AssertSameFileAsync(source, target);
    }

    [Fact]
    public async Task Three_providers_one_corrupting_a_range_is_dropped_and_the_output_is_right()
    {
        using var dir = new TempDir();
        const long Size = 24L << 20;
        string source = await WriteRandomFileAsync(dir.Path, "f.bin", Size);
        await using var good1 = await Node.StartAsync(new TransferOptions { MaxBytesPerSecond = 40_000_000 });
        await using var good2 = await Node.StartAsync(new TransferOptions { MaxBytesPerSecond = 40_000_000 });
        await using var liar = await Node.StartAsync();
        await using var leech = await Node.StartAsync();
        var share = await good1.Transfer.ShareAsync(source);
        await good2.Transfer.ShareAsync(source);
        await liar.Transfer.ShareAsync(source);
        foreach (var node in new[] { good1, good2 }) node.Transfer.Authorize = (_, _) => true;
        int lies = 0;
        // The liar serves the real stream with one byte flipped in the middle of every answer.
        liar.Host.SetStreamHandler(TransferProtocol.Id, async (stream, _, ct) =>
        {
            var request = await TransferProtocol.ReadRequestAsync(stream, ct);
            var honest = new MemoryStream();
            var real = liar.Transfer.FindShare(request.Id)!;
            using (var data = File.OpenHandle(real.Path))
            using (var tree = await TreeFile.CreateOrOpenAsync(real.Path, real.Path + TreeFile.Suffix, ct))
            {
                await TransferProtocol.SendRangeAsync(honest, tree, data, request.FirstGroup, request.GroupCount, ct);
            }
            byte[] bytes = honest.ToArray();
            bytes[bytes.Length / 2] ^= 1;
            Interlocked.Increment(ref lies);
            await stream.WriteAsync(bytes, ct);
            await stream.CloseWriteAsync(ct);
        });

        var connections = new List<Connection>();
        foreach (var node in new[] { liar, good1, good2 }) connections.Add(await leech.Host.DialAsync(node.Address).WaitAsync(Timeout));
        string target = Path.Combine(dir.Path, "got.bin");
        var result = await leech.Transfer.FetchAsync(share.Id, Size, connections, target).WaitAsync(Timeout);

        await AssertSameFileAsync(source, target);
        Assert.Equal(1, result.DroppedProviders);
        Assert.InRange(lies, 1, 2); // one request per worker at most before the drop
        Assert.True(result.DiscardedBytes > 0);
        Assert.Equal(Size, result.FetchedBytes);
    }

    [Fact]
    public async Task An_interrupted_fetch_resumes_with_only_the_missing_groups()
    {
        using var dir = new TempDir();
        const long Size = 8L << 20;
        string source = await WriteRandomFileAsync(dir.Path, "f.bin", Size);
        await using var seed = await Node.StartAsync(new TransferOptions { MaxBytesPerSecond = 8_000_000 });
        await using var leech = await Node.StartAsync();
        var share = await seed.Transfer.ShareAsync(source);
        seed.Transfer.Authorize = (_, _) => true;
        var connection = await leech.Host.DialAsync(seed.Address).WaitAsync(Timeout);
        string target = Path.Combine(dir.Path, "got.bin");

        using var cancel = new CancellationTokenSource();
        var half = new TaskCompletionSource();
        var progress = new SyncProgress(p =>
        {
            if (p.BytesVerified >= Size / 2) half.TrySetResult();
        });
        var first = leech.Transfer.FetchAsync(share.Id, Size, [connection], target, null, progress, cancel.Token);
        await half.Task.WaitAsync(Timeout);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.WaitAsync(Timeout));
        Assert.True(File.Exists(target + ".partial"));

        var result = await leech.Transfer.FetchAsync(share.Id, Size, [connection], target).WaitAsync(Timeout);
        Assert.True(result.ResumedBytes >= Size / 2, $"resumed {result.ResumedBytes}");
        Assert.Equal(Size, result.ResumedBytes + result.FetchedBytes);
        await AssertSameFileAsync(source, target);
    }

    [Fact]
    public async Task Zero_byte_and_one_byte_files_transfer()
    {
        using var dir = new TempDir();
        await using var seed = await Node.StartAsync();
        await using var leech = await Node.StartAsync();
        seed.Transfer.Authorize = (_, _) => true;
        var connection = await leech.Host.DialAsync(seed.Address).WaitAsync(Timeout);
        foreach (int size in new[] { 0, 1 })
        {
            string source = await WriteRandomFileAsync(dir.Path, $"s{size}", size);
            var share = await seed.Transfer.ShareAsync(source);
            string target = Path.Combine(dir.Path, $"t{size}");
            await leech.Transfer.FetchAsync(share.Id, size, [connection], target).WaitAsync(Timeout);
            await AssertSameFileAsync(source, target);
        }
    }

    /// <summary>IProgress that reports on the caller's thread (Progress&lt;T&gt; posts to the pool, too late for asserts).</summary>
    private sealed class SyncProgress(Action<TransferProgress> report) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value)
        {
            lock (this) report(value);
        }
    }
}
