// Prints the private key of a PKCS12 entry as PEM (PKCS#8), so the fault-free secured-Kafka tests
// can hand a keytool-made client key to ferry without openssl:  java PemKey.java STORE PASS ALIAS
import java.io.FileInputStream;
import java.security.Key;
import java.security.KeyStore;
import java.util.Base64;

public class PemKey {
  public static void main(String[] a) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (FileInputStream in = new FileInputStream(a[0])) { ks.load(in, a[1].toCharArray()); }
    Key k = ks.getKey(a[2], a[1].toCharArray());
    System.out.println("-----BEGIN PRIVATE KEY-----");
    System.out.println(Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(k.getEncoded()));
    System.out.println("-----END PRIVATE KEY-----");
  }
}
