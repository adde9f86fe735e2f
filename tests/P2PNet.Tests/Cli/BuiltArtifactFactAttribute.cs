namespace P2PNet.Tests.Cli;

/// <summary>
/// A fact about an artifact that scripts/test.sh builds before the tests (the Native AOT <c>p2pnet</c>, the packed
/// NuGet feed) and names in an environment variable. Without it the fact is skipped, saying how to make it, except
/// under CI (<c>CI=true</c>), where it runs and fails: CI must not pass with the artifact missing.
/// </summary>
internal sealed class BuiltArtifactFactAttribute : FactAttribute
{
    public BuiltArtifactFactAttribute(string variable)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable)) && Environment.GetEnvironmentVariable("CI") != "true")
            Skip = $"{variable} is not set: scripts/test.sh makes it (see its comments), or set it by hand";
    }

    /// <summary>The artifact's path from <paramref name="variable"/>; fails the test when unset or missing.</summary>
    public static string PathFrom(string variable)
    {
        string? path = Environment.GetEnvironmentVariable(variable);
        Assert.False(string.IsNullOrEmpty(path), $"{variable} is not set (scripts/test.sh sets it)");
        Assert.True(File.Exists(path) || Directory.Exists(path), $"{variable}={path} does not exist");
        return path;
    }
}
