using System.Diagnostics;
using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Protocols.AutoNat;

// The client's rounds: which addresses, which servers, and the verdict rules. Only the loop touches the answer
// tables; Reachability and PublicAddresses are published for any thread.
public sealed partial class AutoNatService
{
    private volatile Reachability _reachability;
    private volatile IReadOnlyList<Multiaddr> _publicAddresses = [];
    // The latest answer of each server about each address, and each address's verdict. Bounded by
    // MaxAddressesPerRound × MaxServers: entries of addresses and servers gone are dropped every round.
    private readonly Dictionary<(Multiaddr Address, PeerId Server), Answer> _answers = [];
    private readonly Dictionary<Multiaddr, Reachability> _verdicts = [];

    // Result is null when the server gave no verdict: Declined (it will not test that address) or a failure.
    private sealed record Answer(Reachability? Verdict, bool Declined, long At);

    private async Task RunClientAsync(CancellationToken ct)
    {
        await Task.Yield();
        try
        {
            while (true)
            {
                using (var idle = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    idle.CancelAfter(Options.RecheckInterval);
                    try
                    {
                        await _wake.Reader.WaitToReadAsync(idle.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        // Time to ask again about answers gone stale.
                    }
                }
                await Task.Delay(Options.ChangeDebounce, ct).ConfigureAwait(false);
                while (_wake.Reader.TryRead(out _))
                {
                }
                try
                {
                    await RoundAsync(ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    AutoNatLog.RoundFailed(_logger, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private int _rounds;

    /// <summary>Client rounds finished (for tests: a round with every server asked has published its verdict).</summary>
    internal int RoundsCompleted => Volatile.Read(ref _rounds);

    private async Task RoundAsync(CancellationToken ct)
    {
        try
        {
            await RoundCoreAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Increment(ref _rounds);
        }
    }

    private async Task RoundCoreAsync(CancellationToken ct)
    {
        var servers = Servers();
        var addresses = CandidateAddresses();
        foreach (var key in _answers.Keys.Where(k => !servers.ContainsKey(k.Server) || !addresses.Contains(k.Address)).ToList()) _answers.Remove(key);
        foreach (var address in _verdicts.Keys.Where(a => !addresses.Contains(a)).ToList()) _verdicts.Remove(address);
        if (servers.Count == 0) return;
        foreach (var address in addresses)
        {
            var due = servers.Where(s => !_answers.TryGetValue((address, s.Key), out var a) || Stopwatch.GetElapsedTime(a.At) >= Options.RecheckInterval).ToList();
            if (due.Count == 0) continue;
            var answers = await Task.WhenAll(due.Select(s => AskAsync(s.Value, address, ct))).ConfigureAwait(false);
            for (int i = 0; i < due.Count; i++) _answers[(address, due[i].Key)] = answers[i];
        }
        // Every address, asked this round or not: a server leaving can settle a disagreement.
        foreach (var address in addresses) Decide(address, servers.Keys);
        Publish(addresses);
    }

    private async Task<Answer> AskAsync(Connection server, Multiaddr address, CancellationToken ct)
    {
        try
        {
            var result = await CheckAddressAsync(server, address, ct).ConfigureAwait(false);
            AutoNatLog.Checked(_logger, server.RemotePeerId, address, result.Reachability);
            _metrics.Checked(result.Reachability == Reachability.Public ? "public" : "private");
            return new Answer(result.Reachability, false, Stopwatch.GetTimestamp());
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && ex is not OutOfMemoryException)
        {
            AutoNatLog.CheckFailed(_logger, server.RemotePeerId, address, ex.Message);
            _metrics.Checked("failed");
            return new Answer(null, ex is AutoNatException { Error: AutoNatError.Declined }, Stopwatch.GetTimestamp());
        }
    }

    // An address's verdict changes when at least min(3, n) servers agree and outnumber the others, n being the
    // connected servers minus those that declined to test it: with fewer than three, all of them must agree (one
    // that failed or has not answered yet blocks the change).
    private void Decide(Multiaddr address, IEnumerable<PeerId> servers)
    {
        var answers = servers.Select(s => _answers.GetValueOrDefault((address, s))).ToList();
        int n = answers.Count(a => a is not { Declined: true });
        if (n == 0) return;
        int reachable = answers.Count(a => a?.Verdict == Reachability.Public);
        int unreachable = answers.Count(a => a?.Verdict == Reachability.Private);
        int need = Math.Min(3, n);
        if (reachable >= need && reachable > unreachable) _verdicts[address] = Reachability.Public;
        else if (unreachable >= need && unreachable > reachable) _verdicts[address] = Reachability.Private;
    }

    // Public when any address is reachable; private when every address tested is unreachable; otherwise (an
    // address still undecided) unchanged.
    private void Publish(List<Multiaddr> addresses)
    {
        List<Multiaddr> reachable = [.. _verdicts.Where(v => v.Value == Reachability.Public).Select(v => v.Key)];
        var previous = _reachability;
        var current = reachable.Count > 0 ? Reachability.Public
            : addresses.Count > 0 && addresses.All(a => _verdicts.GetValueOrDefault(a) == Reachability.Private) ? Reachability.Private
            : previous;
        _publicAddresses = current == Reachability.Public ? reachable : [];
        if (current == previous) return;
        _reachability = current;
        AutoNatLog.ReachabilityChanged(_logger, previous, current, string.Join(", ", reachable));
        try
        {
            ReachabilityChanged?.Invoke(this, new ReachabilityChangedEventArgs(previous, current, _publicAddresses));
        }
        catch (Exception ex)
        {
            AutoNatLog.HandlerFailed(_logger, ex.Message);
        }
    }

    // Connected peers that said (identify, in the peer store) they serve dial requests; relayed connections excluded.
    private Dictionary<PeerId, Connection> Servers()
    {
        var servers = new Dictionary<PeerId, Connection>();
        foreach (var connection in _host.Connections)
        {
            if (servers.Count >= Options.MaxServers) break;
            var peer = connection.RemotePeerId;
            if (!connection.IsOpen || connection.Info.IsLimited || servers.ContainsKey(peer)) continue;
            if (!_host.PeerStore.TryGet(peer, out var entry) || !entry.Protocols.Contains(AutoNatProtocol.DialRequestId, StringComparer.Ordinal)) continue;
            servers[peer] = _host.FindConnection(peer) ?? connection;
        }
        return servers;
    }

    // Listen addresses and confirmed observed ones first, then the other observed candidates; public ones only.
    private List<Multiaddr> CandidateAddresses()
    {
        var result = new List<Multiaddr>();
        foreach (var address in _host.Addresses.Concat(_host.ObservedAddressCandidates.Select(o => o.Address)))
        {
            if (result.Count >= Options.MaxAddressesPerRound) break;
            var bare = address.WithoutPeerId();
            if (_scope.PublicTcpEndPoint(bare) is not null && !result.Contains(bare)) result.Add(bare);
        }
        return result;
    }
}
