using System.Security.Cryptography;
using P2PNet.Peers;
using P2PNet.Protocols.Transfer;
using static P2PNet.Tests.Peers.PeerTestNetwork;

namespace P2PNet.Tests.Protocols.Transfer;

/// <summary>network.Files: share, offer as a DataTransmissionPacket, FileOffered, fetch with Enhanced trust or a ticket.</summary>
public sealed class PeerFilesTests
{
    [Fact]
    public async Task Offer_arrives_and_the_file_is_fetched_over_an_enhanced_channel()
    {
        using var dir = new TempDir();
        string source = Path.Combine(dir.Path, "report.pdf");
        byte[] content = RandomNumberGenerator.GetBytes(1_234_567);
        await File.WriteAllBytesAsync(source, content);
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        a.TrustPolicy.AllowEnhancedPacketExchange = true;
        b.TrustPolicy.AllowEnhancedPacketExchange = true;
        var offered = Next<FileOfferedEventArgs>(h => b.Files.FileOffered += h);
        var (outbound, inbound) = await ConnectBothEndsAsync(b, a);

        var share = await a.Files.ShareAsync(source);
        await a.Files.OfferAsync(inbound, share.Id);
        var offer = (await offered).Offer;
        Assert.Equal((a.Identifier, share.Id, "report.pdf", 1_234_567L), (offer.From, offer.Id, offer.Name, offer.Size));
        Assert.Same(outbound, (await offered).Channel);

        var reports = new List<TransferProgress>();
        string target = Path.Combine(dir.Path, "got", offer.Name);
        var result = await b.Files.FetchAsync(offer.Id, [offer.From], target, new Progress(reports.Add)).WaitAsync(Wait);
        Assert.Equal(content, await File.ReadAllBytesAsync(target));
        Assert.Equal(content.Length, result.FetchedBytes);
        Assert.Equal(content.Length, reports[^1].BytesVerified);
    }

    [Fact]
    public async Task Without_enhanced_trust_a_plain_share_is_refused_but_a_ticket_works()
    {
        using var dir = new TempDir();
        string source = Path.Combine(dir.Path, "a.bin");
        await File.WriteAllBytesAsync(source, RandomNumberGenerator.GetBytes(50_000));
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        await ConnectBothEndsAsync(b, a);
        var share = await a.Files.ShareAsync(source);

        var denied = await Assert.ThrowsAsync<TransferException>(() =>
            b.Files.FetchAsync(share.Id, share.Size, [a.Identifier], Path.Combine(dir.Path, "x.bin"), null).WaitAsync(Wait));
        Assert.Equal(TransferError.NoProviders, denied.Error);

        var ticket = await a.Files.ShareWithTicketAsync(source);
        Assert.True(TransferTicket.TryParse(ticket.ToString(), out var parsed, out _));
        await b.Files.FetchAsync(parsed.Id, parsed.Size, [a.Identifier], Path.Combine(dir.Path, "y.bin"), new FetchOptions { Secret = parsed.Secret }).WaitAsync(Wait);
        Assert.Equal(await File.ReadAllBytesAsync(source), await File.ReadAllBytesAsync(Path.Combine(dir.Path, "y.bin")));
    }

    private sealed class Progress(Action<TransferProgress> report) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value)
        {
            lock (this) report(value);
        }
    }
}
