using System.Text.RegularExpressions;
using P2PNet.Tests.Protocols.AutoNat;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Protocols.Dcutr;

/// <summary>
/// A PeerChannel message sequence across DCUtR's switch, in the NAT lab (<see cref="NatLab"/>, namespaces
/// <c>p2pdx-*</c>): a relay on the lab's internet (<c>listen --relay-service</c>), two <c>p2pnet chat</c> processes
/// behind plain masquerade, B reserving on the relay (<c>--relay</c>) and A connecting to B's circuit address
/// (<c>--peer</c>). A sends numbered lines without pause (at most <see cref="Window"/> not yet printed by B) while the
/// channel runs on the relay, DCUtR hole punches and the channel moves onto the direct connection; B must print every
/// one exactly once and in order. So that the sequence surely starts on the relay whatever the machine's speed, A's
/// router forwards only relay traffic until B has printed the first <see cref="OverRelay"/> messages
/// (<see cref="NatLab.HoldAsync"/>); then it is a plain masquerade again and DCUtR's SYNs (a retransmission of the
/// running attempt, or the next attempt) get through. Real processes, <c>--public-cidr 198.18.0.0/15</c>; every wait
/// is for a line, with a timeout. Needs root and nftables (CI has both).
/// </summary>
[Collection(nameof(Interop.InteropCollection))]
public sealed partial class DcutrChannelNatLabTests
{
    private const string Prefix = "p2pdx-";
    private const string RelayIp = "198.18.0.250";
    private const int Window = 16;
    private const int OverRelay = 40;
    private const int AfterMove = 100;
    private const int MaxMessages = 200_000;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly string[] Lab = ["--public-cidr", "198.18.0.0/15"];

    [GeneratedRegex(@"^\* direct connection to 12D3KooW\w+ at /ip4/198\.18\.0\.\d+/tcp/\d+$")]
    private static partial Regex DirectLine();

    [GeneratedRegex(@"^\* channel with 12D3KooW\w+ moved to the direct connection /ip4/198\.18\.0\.\d+/tcp/\d+")]
    private static partial Regex MovedLine();

    [NatLabFact]
    public async Task A_message_sequence_crosses_the_hole_punch_from_relay_to_direct_exactly_once_and_in_order()
    {
        await using var lab = await NatLab.CreateAsync(Prefix);
        var processes = new List<LineProcess>();
        using var stop = new CancellationTokenSource();
        var readers = new List<Task>();
        try
        {
            string relayNs = await lab.OnInternetAsync("relay", 250);
            string aNs = await lab.NodeAsync("a", NatKind.Masquerade);
            string bNs = await lab.NodeAsync("b", NatKind.Masquerade);
            var relay = LineProcess.StartCliIn(relayNs, ["listen", "--listen", $"/ip4/{RelayIp}/tcp/4001", "--relay-service", "--key", lab.KeyFile("relay"), .. Lab]);
            processes.Add(relay);
            string relayAddress = await relay.ExpectAsync($"/ip4/{RelayIp}/tcp/4001/p2p/", Timeout);
            var b = LineProcess.StartCliIn(bNs, ["chat", "--listen", $"/ip4/0.0.0.0/tcp/{NatLab.ListenPort}", "--relay", relayAddress, .. Lab]);
            processes.Add(b);
            string bId = (await b.ExpectAsync("peer id ", Timeout))["peer id ".Length..];
            string circuit = (await b.ExpectAsync($"listening on {relayAddress}/p2p-circuit/p2p/", Timeout))["listening on ".Length..];

            // No direct path for now: the channel opens, and the sequence starts, on the relay.
            await lab.HoldAsync("a", RelayIp);
            var a = LineProcess.StartCliIn(aNs, ["chat", "--peer", circuit, .. Lab]);
            processes.Add(a);
            string aId = (await a.ExpectAsync("peer id ", Timeout))["peer id ".Length..];
            await a.ExpectAsync("type a message", Timeout);

            var received = new List<string>();
            var window = new SemaphoreSlim(Window);
            var relayedIn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var endIn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var moved = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            string fromA = aId + ": ";
            readers.Add(Task.Run(async () =>
            {
                await foreach (string line in b.LinesAsync(stop.Token))
                {
                    if (!line.StartsWith(fromA, StringComparison.Ordinal)) continue;
                    string text = line[fromA.Length..];
                    int count;
                    lock (received)
                    {
                        received.Add(text);
                        count = received.Count;
                    }
                    if (text == "end") endIn.TrySetResult();
                    else window.Release();
                    if (count == OverRelay) relayedIn.TrySetResult();
                }
            }));
            readers.Add(Task.Run(async () =>
            {
                await foreach (string line in a.LinesAsync(stop.Token))
                    if (MovedLine().IsMatch(line)) moved.TrySetResult();
            }));

            int sent = 0;
            async Task SendNextAsync()
            {
                if (!await window.WaitAsync(Timeout)) throw new TimeoutException($"B printed nothing for {Timeout.TotalSeconds} s after {sent} sent\n{Transcripts(a, b)}");
                await a.SendAsync($"msg {sent:D6}");
                sent++;
            }

            while (sent < OverRelay) await SendNextAsync();
            await relayedIn.Task.WaitAsync(Timeout);
            // A plain masquerade again: DCUtR gets through while the sequence keeps flowing.
            await lab.ReleaseAsync("a");
            while (!moved.Task.IsCompleted)
            {
                Assert.True(sent < MaxMessages, $"no move to a direct connection after {sent} messages\n{Transcripts(a, b)}");
                await SendNextAsync();
            }
            int atMove = sent;
            while (sent < atMove + AfterMove) await SendNextAsync();
            await a.SendAsync("end");
            await endIn.Task.WaitAsync(Timeout);

            string[] aLines = Lines(a.Transcript), bLines = Lines(b.Transcript);
            string context = Transcripts(a, b);
            // The switch happened, on both sides, onto a hole-punched connection between the routers' WAN addresses.
            Assert.Contains(aLines, l => DirectLine().IsMatch(l) && l.Contains(bId, StringComparison.Ordinal));
            Assert.Contains(aLines, l => MovedLine().IsMatch(l) && l.Contains(bId, StringComparison.Ordinal));
            Assert.Contains(bLines, l => DirectLine().IsMatch(l) && l.Contains(aId, StringComparison.Ordinal));
            Assert.Contains(bLines, l => MovedLine().IsMatch(l) && l.Contains(aId, StringComparison.Ordinal));
            Assert.DoesNotContain(aLines.Concat(bLines), l => l.StartsWith("* hole punch failed", StringComparison.Ordinal)
                || l.StartsWith("* not delivered", StringComparison.Ordinal) || l.StartsWith("* disconnected", StringComparison.Ordinal)
                || l.StartsWith("* no peer connected", StringComparison.Ordinal));
            // A (the dialer) moves the channel without a break; B sees the session resume on the direct connection.
            Assert.DoesNotContain(aLines, l => l.StartsWith("* resuming", StringComparison.Ordinal));
            // Every message exactly once, in order: those before the move on the relay, the rest on the direct connection.
            Assert.True(atMove >= OverRelay, context);
            List<string> expected = [.. Enumerable.Range(0, sent).Select(i => $"msg {i:D6}"), "end"];
            lock (received)
            {
                Assert.True(expected.SequenceEqual(received), $"{received.Count} received for {expected.Count} sent; first difference at " +
                    $"{expected.Zip(received).TakeWhile(p => p.First == p.Second).Count()}\n{context}");
            }
            Console.WriteLine($"{sent} messages, {atMove} before the channel moved to the direct connection");
        }
        finally
        {
            foreach (var p in processes) await p.DisposeAsync();
            await stop.CancelAsync();
            await Task.WhenAll(readers).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private static string[] Lines(string transcript) => transcript.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    // The status lines of both chats (not the thousands of messages), and their standard error.
    private static string Transcripts(LineProcess a, LineProcess b) =>
        $"A:\n{string.Join('\n', Lines(a.Transcript).Where(l => l.StartsWith('*')))}\n{a.StandardError}\n" +
        $"B:\n{string.Join('\n', Lines(b.Transcript).Where(l => l.StartsWith('*')))}\n{b.StandardError}";
}
