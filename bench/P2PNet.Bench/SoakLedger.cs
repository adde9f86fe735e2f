using System.Globalization;

namespace P2PNet.Bench;

/// <summary>
/// The soak's accounts, fed with the nodes' stdout lines (<see cref="SoakNode"/>), one lock for all. A stream is one
/// sender incarnation (index, epoch) to one receiver index; its packets are numbered 1, 2, … in the order queued.
/// </summary>
internal sealed class SoakLedger
{
    private readonly object _lock = new();
    private readonly Dictionary<(int Src, int Epoch, int Dst), Stream> _streams = [];
    private readonly Dictionary<int, (long Managed, long Committed, long Threads)> _heap = [];
    private readonly Dictionary<int, List<(double Time, Dictionary<string, long> Values)>> _memory = [];
    private readonly List<(int Node, int Dst, double Time)> _expired = [];
    private readonly HashSet<(int Node, int Epoch)> _died = [];
    private readonly Dictionary<(int Src, int Dst), List<double>> _deliveries = [];
    private long _malformed;
    private long _interrupted;
    private long _resumed;
    private readonly Dictionary<string, long> _reasons = [];

    private sealed class Stream
    {
        public long MaxSent;
        public long Gaps;
        public readonly HashSet<long> Failed = [];          // SendAsync refused it (never queued)
        public readonly HashSet<long> Reported = [];        // PacketsLost named it
        public long ReportedTwice;
        public readonly Dictionary<long, int> Delivered = [];
        public long LastDelivered;
        public long Reordered;
    }

    /// <summary>Node <paramref name="node"/>'s last <c>M</c> line: managed heap after a full collection, GC committed bytes, threads (0 before the first).</summary>
    public (long Managed, long Committed, long Threads) Heap(int node)
    {
        lock (_lock) return _heap.GetValueOrDefault(node);
    }

    /// <summary>Node <paramref name="node"/>'s <c>X</c> lines of its first incarnation (epoch 0), oldest first.</summary>
    public List<(double Time, Dictionary<string, long> Values)> Memory(int node)
    {
        lock (_lock) return _memory.TryGetValue(node, out var list) ? [.. list] : [];
    }

    /// <summary>Channels that reported "resume window expired": the reporting node, its peer, when (one entry per report).</summary>
    public List<(int Node, int Dst, double Time)> Expired()
    {
        lock (_lock) return [.. _expired];
    }

    public long Malformed => Interlocked.Read(ref _malformed);

    /// <summary>Channels whose connection was lost (counted on each side), and of those, open again (resumed or in a new session).</summary>
    public (long Interrupted, long Resumed) Resumes => (Interlocked.Read(ref _interrupted), Interlocked.Read(ref _resumed));

    /// <summary>One line of node <paramref name="node"/> (incarnation <paramref name="epoch"/>) read at <paramref name="time"/> seconds.</summary>
    public void Line(int node, int epoch, string line, double time)
    {
        string[] f = line.Split(' ');
        try
        {
            switch (f[0])
            {
                case "S" when f.Length == 3:
                    {
                        int dst = Int(f[1]);
                        long seq = long.Parse(f[2], CultureInfo.InvariantCulture);
                        lock (_lock)
                        {
                            var s = Get(node, epoch, dst);
                            if (seq != s.MaxSent + 1) s.Gaps++;
                            s.MaxSent = Math.Max(s.MaxSent, seq);
                        }
                        break;
                    }
                case "F" when f.Length >= 3:
                    lock (_lock)
                    {
                        Get(node, epoch, Int(f[1])).Failed.Add(long.Parse(f[2], CultureInfo.InvariantCulture));
                        string refused = f.Length > 3 ? $"SendAsync refused ({f[3]})" : "SendAsync refused";
                        _reasons[refused] = _reasons.GetValueOrDefault(refused) + 1;
                    }
                    break;
                case "L" when f.Length >= 3:
                    lock (_lock)
                    {
                        var s = Get(node, epoch, Int(f[1]));
                        if (!s.Reported.Add(long.Parse(f[2], CultureInfo.InvariantCulture))) s.ReportedTwice++;
                        string reason = f.Length > 3 ? string.Join(' ', f[3..]).Replace('_', ' ') : "";
                        int colon = reason.IndexOf(':', StringComparison.Ordinal);
                        if (colon > 0) reason = reason[..colon];
                        _reasons[reason] = _reasons.GetValueOrDefault(reason) + 1;
                        // An expired window is one report per channel: keep when and where, to look for its cause.
                        int peer = Int(f[1]);
                        if (reason == "resume window expired" && !_expired.Any(x => x.Node == node && x.Dst == peer && time - x.Time < 1))
                            _expired.Add((node, peer, time));
                    }
                    break;
                case "M" when f.Length == 4:
                    lock (_lock) _heap[node] = (long.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[2], CultureInfo.InvariantCulture), long.Parse(f[3], CultureInfo.InvariantCulture));
                    break;
                case "X" when epoch == 0:
                    {
                        var values = f.Skip(1).Select(p => p.Split('=')).ToDictionary(p => p[0], p => long.Parse(p[1], CultureInfo.InvariantCulture));
                        lock (_lock)
                        {
                            if (!_memory.TryGetValue(node, out var list)) _memory[node] = list = [];
                            list.Add((time, values));
                        }
                        break;
                    }
                case "X":
                    break;
                case "C" when f.Length == 3:
                    Interlocked.Increment(ref f[2] == "resumed" ? ref _resumed : ref _interrupted);
                    break;
                case "R" when f.Length == 4:
                    {
                        int src = Int(f[1]), srcEpoch = Int(f[2]);
                        long seq = long.Parse(f[3], CultureInfo.InvariantCulture);
                        lock (_lock)
                        {
                            var s = Get(src, srcEpoch, node);
                            s.Delivered[seq] = s.Delivered.GetValueOrDefault(seq) + 1;
                            if (seq < s.LastDelivered) s.Reordered++;
                            s.LastDelivered = Math.Max(s.LastDelivered, seq);
                            if (!_deliveries.TryGetValue((src, node), out var times)) _deliveries[(src, node)] = times = [];
                            times.Add(time);
                        }
                        break;
                    }
            }
        }
        catch (FormatException)
        {
            Interlocked.Increment(ref _malformed);
        }
    }

    private static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);

    private Stream Get(int src, int epoch, int dst)
    {
        if (!_streams.TryGetValue((src, epoch, dst), out var s)) _streams[(src, epoch, dst)] = s = new Stream();
        return s;
    }

    /// <summary>Incarnation <paramref name="epoch"/> of <paramref name="node"/> was killed (its unacknowledged packets: "sender died").</summary>
    public void Died(int node, int epoch)
    {
        lock (_lock) _died.Add((node, epoch));
    }

    /// <summary>Packets of live senders neither delivered nor reported yet (the drain waits for 0).</summary>
    public long Outstanding()
    {
        long n = 0;
        lock (_lock)
        {
            foreach (var ((src, epoch, _), s) in _streams)
            {
                if (_died.Contains((src, epoch))) continue;
                for (long seq = 1; seq <= s.MaxSent; seq++)
                    if (!s.Delivered.ContainsKey(seq) && !s.Reported.Contains(seq) && !s.Failed.Contains(seq)) n++;
            }
        }
        return n;
    }

    /// <summary>Reported packets by reason (PacketsLost's reason up to its first colon, or SendAsync refused).</summary>
    public IReadOnlyList<KeyValuePair<string, long>> Reasons()
    {
        lock (_lock) return [.. _reasons.OrderByDescending(r => r.Value)];
    }

    /// <summary>Ordered pairs with at least one delivery.</summary>
    public int PairsDelivering()
    {
        lock (_lock) return _deliveries.Count;
    }

    /// <summary>The first delivery from <paramref name="src"/> to <paramref name="dst"/> after <paramref name="time"/>, or null.</summary>
    public double? FirstDeliveryAfter(int src, int dst, double time)
    {
        lock (_lock)
        {
            if (!_deliveries.TryGetValue((src, dst), out var times)) return null;
            int i = times.BinarySearch(time);
            if (i < 0) i = ~i;
            while (i < times.Count && times[i] <= time) i++;
            return i < times.Count ? times[i] : null;
        }
    }

    public sealed record PairRow(int Src, int Dst, long Sent, long Delivered, long Duplicated, long Reordered, long Reported,
        long ReportedDelivered, long SenderDied, long Lost, long Anomalies);

    /// <summary>Per ordered pair, summed over the sender's incarnations.</summary>
    public List<PairRow> Rows(int nodes)
    {
        var rows = new List<PairRow>();
        lock (_lock)
        {
            for (int src = 0; src < nodes; src++)
                for (int dst = 0; dst < nodes; dst++)
                {
                    if (src == dst) continue;
                    long sent = 0, delivered = 0, dup = 0, reord = 0, reported = 0, repDelivered = 0, died = 0, lost = 0, anomalies = 0;
                    foreach (var ((s, epoch, d), st) in _streams)
                    {
                        if (s != src || d != dst) continue;
                        bool senderDied = _died.Contains((s, epoch));
                        sent += st.MaxSent;
                        reord += st.Reordered;
                        anomalies += st.Gaps + st.ReportedTwice;
                        foreach (var (seq, count) in st.Delivered)
                        {
                            if (seq > st.MaxSent) anomalies++; // delivered but never logged as sent: cannot happen
                            bool rep = st.Reported.Contains(seq) || st.Failed.Contains(seq);
                            if (rep) repDelivered++;
                            else delivered++;
                            if (count > 1) dup += count - 1;
                        }
                        for (long seq = 1; seq <= st.MaxSent; seq++)
                        {
                            bool rep = st.Reported.Contains(seq) || st.Failed.Contains(seq);
                            if (rep) { reported++; continue; }
                            if (st.Delivered.ContainsKey(seq)) continue;
                            if (senderDied) died++;
                            else lost++;
                        }
                    }
                    rows.Add(new PairRow(src, dst, sent, delivered, dup, reord, reported, repDelivered, died, lost, anomalies));
                }
        }
        return rows;
    }
}
