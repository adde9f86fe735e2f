namespace P2PNet.Tests.Support;

/// <summary>Locates the repository from the test binaries.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string JsInterop => Path.Combine(Root, "interop", "js");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "P2PNet.sln"))) return dir.FullName;
        throw new InvalidOperationException("P2PNet.sln not found above " + AppContext.BaseDirectory);
    }
}
