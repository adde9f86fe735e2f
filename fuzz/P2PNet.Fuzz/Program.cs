using P2PNet.Fuzz;
using SharpFuzz;

// Usage:
//   P2PNet.Fuzz NAME                  afl++ persistent-mode target (run by scripts/fuzz.sh under afl-fuzz)
//   P2PNet.Fuzz NAME --replay PATH…   runs files or folders through the harness once, no fuzzer (crash triage)
//   P2PNet.Fuzz --list                prints the harness names
//   P2PNet.Fuzz --write-seeds DIR     writes the generated valid seeds of every harness under DIR/<name>/
if (args is ["--write-seeds", var seedRoot])
{
    SeedCorpus.Write(seedRoot);
    return 0;
}
if (args.Length == 0 || args[0] == "--list")
{
    foreach (var h in HarnessCatalog.All) Console.WriteLine($"{h.Name,-18} {h.Target}");
    return args.Length == 0 ? 2 : 0;
}
var harness = HarnessCatalog.Find(args[0]);
if (harness is null)
{
    Console.Error.WriteLine($"unknown harness '{args[0]}'; --list shows them");
    return 2;
}
if (args.Length > 1 && args[1] == "--replay")
{
    int failed = 0;
    foreach (string path in args.Skip(2).SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p) : [p]).Order(StringComparer.Ordinal))
    {
        try
        {
            await harness.RunAsync(await File.ReadAllBytesAsync(path)).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            failed++;
            Console.WriteLine($"{path}: {ex}");
        }
    }
    Console.WriteLine($"{failed} failed");
    return failed == 0 ? 0 : 1;
}

// afl++ hands each input over shared memory; SharpFuzz's persistent loop runs them in this one process. The
// harness is async but the loop is not, so each input is awaited here, at the very top.
Fuzzer.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    harness.RunAsync(buffer.ToArray()).GetAwaiter().GetResult();
});
return 0;
