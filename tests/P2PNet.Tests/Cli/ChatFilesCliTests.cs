using System.Security.Cryptography;
using P2PNet.Core;
using P2PNet.Protocols.Transfer;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Cli;

/// <summary>Chat /send and /get between two processes.</summary>
[Collection(nameof(Interop.InteropCollection))]
public sealed class ChatFilesCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Send_offers_a_file_and_get_fetches_it_verified()
    {
        using var dir = new P2PNet.Tests.Protocols.Transfer.TempDir();
        string name = $"chat-{Guid.NewGuid():N}.bin";
        string source = Path.Combine(dir.Path, name);
        byte[] content = RandomNumberGenerator.GetBytes(2_000_000);
        await File.WriteAllBytesAsync(source, content);

        await using var a = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0");
        var aId = PeerId.Parse((await a.ExpectAsync("peer id ", Timeout))["peer id ".Length..]);
        var aAddr = Multiaddr.Parse((await a.ExpectAsync("listening on ", Timeout))["listening on ".Length..]);
        await using var b = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0", "--peer", aAddr.ToString());
        await b.ExpectAsync("* channel open", Timeout);
        await a.ExpectAsync("* connected", Timeout);

        await a.SendAsync($"/send {source}");
        Assert.Equal($"* offered {name} (2000000 bytes) to 1 peers", await a.ExpectAsync("* offered", Timeout));
        Assert.Equal($"* {aId} offers {name} (2000000 bytes): /get 1", await b.ExpectAsync($"* {aId} offers", Timeout));

        await b.SendAsync("/get 1");
        string saved = await b.ExpectAsync("* saved ", Timeout);
        string path = saved.Split(' ')[2];
        try
        {
            Assert.Equal($"* saved {path} 2000000 bytes {MerkleTree.ComputeId(content)}", saved);
            Assert.Equal(name, Path.GetFileName(path));
            Assert.Equal(content, await File.ReadAllBytesAsync(path));
        }
        finally
        {
            File.Delete(path);
        }
        await b.SendAsync("/get 7");
        Assert.Equal("* no offer 7", await b.ExpectAsync("* no offer", Timeout));
        await b.SendAsync("/quit");
        await a.SendAsync("/quit");
        Assert.Equal(0, await b.WaitForExitAsync(Timeout));
        Assert.Equal(0, await a.WaitForExitAsync(Timeout));
    }
}
