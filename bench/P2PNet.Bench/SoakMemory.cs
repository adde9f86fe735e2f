using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace P2PNet.Bench;

/// <summary>
/// Where a soak node's resident memory lives (the node's <c>X</c> line), to tell a leak of ours from the runtime's
/// warm-up: /proc/self/smaps summed by kind of mapping, the JIT's totals, the GC's view and glibc's malloc totals.
/// All sizes in KiB. The kinds (resident KiB of each):
/// <list type="bullet">
/// <item><c>gc</c>: anonymous mappings in the GC's reservation (the largest run of adjacent anonymous mappings);</item>
/// <item><c>code</c>: executable memory the runtime writes (JIT'd code, stubs: the W^X double mapping
/// <c>/memfd:doublemapper</c>, or anonymous mappings with x);</item>
/// <item><c>mheap</c>: the brk heap (glibc's main malloc arena); <c>arena</c>: glibc's other malloc arenas (runs of
/// anonymous mappings that start on a 64 MiB boundary and span a multiple of 64 MiB);</item>
/// <item><c>anon</c>: every other anonymous mapping (thread stacks, the runtime's loader heaps and GC bookkeeping,
/// malloc's own mmaps of large blocks);</item>
/// <item><c>dll</c>, <c>so</c>, <c>file</c>: file-backed (managed assemblies, native libraries, other).</item>
/// </list>
/// </summary>
internal static class SoakMemory
{
    private const long ArenaSize = 64L << 20; // glibc's HEAP_MAX_SIZE on 64-bit

    public static string Line()
    {
        var gc = GC.GetGCMemoryInfo(GCKind.Any);
        var kinds = Smaps();
        var sb = new StringBuilder("X");
        foreach (var (k, v) in kinds) Add(sb, k, v);
        Add(sb, "gc_committed", gc.TotalCommittedBytes / 1024);
        Add(sb, "gc_heap", gc.HeapSizeBytes / 1024);
        Add(sb, "gc_frag", gc.FragmentedBytes / 1024);
        Add(sb, "jit_il", System.Runtime.JitInfo.GetCompiledILBytes() / 1024);
        Add(sb, "jit_methods", System.Runtime.JitInfo.GetCompiledMethodCount());
        Add(sb, "jit_ms", (long)System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds);
        if (Malloc() is { } m)
        {
            Add(sb, "malloc_used", m.Used / 1024);
            Add(sb, "malloc_free", m.Free / 1024);
            Add(sb, "malloc_mmap", m.Mmapped / 1024);
        }
        return sb.ToString();
    }

    private static void Add(StringBuilder sb, string key, long value) =>
        sb.Append(' ').Append(key).Append('=').Append(value.ToString(CultureInfo.InvariantCulture));

    private sealed record Vma(ulong Start, ulong End, string Perms, string Path)
    {
        public long Rss;

        public bool Anonymous => Path.Length == 0;
    }

    private static List<(string Kind, long Kib)> Smaps()
    {
        var vmas = new List<Vma>();
        Vma? current = null;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            if (line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                if (current is not null) current.Rss = long.Parse(line.AsSpan(4).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                continue;
            }
            int dash = line.IndexOf('-', StringComparison.Ordinal);
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (dash <= 0 || space < dash || line.Split(' ', 2)[0].Contains(':', StringComparison.Ordinal)) continue;
            string[] f = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (!ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong start)
                || !ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong end)) continue;
            current = new Vma(start, end, f[1], f.Length > 5 ? f[5].Trim() : "");
            vmas.Add(current);
        }

        // The GC's reservation (with regions, tens to hundreds of GiB of address space: 48 GiB here) is by far the
        // largest run of adjacent anonymous mappings: committed regions read/write, the rest PROT_NONE.
        var kind = new string[vmas.Count];
        int best = -1, bestEnd = -1;
        ulong bestSize = 0;
        for (int i = 0; i < vmas.Count; i++)
        {
            if (!vmas[i].Anonymous) continue;
            int j = i;
            while (j + 1 < vmas.Count && vmas[j + 1].Anonymous && vmas[j + 1].Start == vmas[j].End) j++;
            if (vmas[j].End - vmas[i].Start > bestSize) (best, bestEnd, bestSize) = (i, j, vmas[j].End - vmas[i].Start);
            i = j;
        }
        for (int i = best; i >= 0 && i <= bestEnd; i++) kind[i] = "gc";
        for (int i = 0; i < vmas.Count; i++)
        {
            if (kind[i] is not null) continue;
            var v = vmas[i];
            if (v.Path.StartsWith("/memfd:doublemapper", StringComparison.Ordinal) || (v.Anonymous && v.Perms.Contains('x', StringComparison.Ordinal))) kind[i] = "code";
            else if (v.Path == "[heap]") kind[i] = "mheap";
            else if (v.Path.StartsWith('/')) kind[i] = v.Path.EndsWith(".dll", StringComparison.Ordinal) ? "dll" : v.Path.Contains(".so", StringComparison.Ordinal) ? "so" : "file";
            else if (!v.Anonymous) kind[i] = "anon"; // [stack], [vdso], [vvar] …
        }
        // glibc's arenas: 64 MiB-aligned runs of adjacent anonymous mappings (read/write part, then PROT_NONE).
        for (int i = 0; i < vmas.Count; i++)
        {
            if (kind[i] is not null || vmas[i].Start % ArenaSize != 0) continue;
            int j = i;
            while (j + 1 < vmas.Count && kind[j + 1] is null && vmas[j + 1].Start == vmas[j].End && (vmas[j + 1].Start - vmas[i].Start) % ArenaSize != 0) j++;
            if ((vmas[j].End - vmas[i].Start) != ArenaSize) continue;
            for (int k = i; k <= j; k++) kind[k] = "arena";
        }
        var sums = new Dictionary<string, long> { ["rss"] = 0, ["gc"] = 0, ["code"] = 0, ["mheap"] = 0, ["arena"] = 0, ["anon"] = 0, ["dll"] = 0, ["so"] = 0, ["file"] = 0 };
        for (int i = 0; i < vmas.Count; i++)
        {
            sums["rss"] += vmas[i].Rss;
            sums[kind[i] ?? "anon"] += vmas[i].Rss;
        }
        return [.. sums.Select(p => (p.Key, p.Value))];
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable SYSLIB1054 // a blittable struct by value: no marshalling, and no unsafe code in the bench
    private static extern MallInfo2 MallInfo2Native();
#pragma warning restore SYSLIB1054

    // glibc's totals over all arenas: in use, free but kept, and mmapped large blocks.
    private static (long Used, long Free, long Mmapped)? Malloc()
    {
        try
        {
            var m = MallInfo2Native();
            return ((long)m.Uordblks, (long)m.Fordblks, (long)m.Hblkhd);
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            return null;
        }
    }
}
